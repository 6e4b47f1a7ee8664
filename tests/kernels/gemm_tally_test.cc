// The GEMM shape tally (kernels/cpu/gemm_tally.h) that `ogai-bench train --breakdown` reads:
// calls are counted by shape while the profiler is on, and not at all while it is off.
#include "kernels/cpu/gemm_tally.h"

#include <vector>

#include <gtest/gtest.h>

#include "core/profile.h"
#include "kernels/cpu/gemm.h"

namespace ogai::kernels {
namespace {

TEST(GemmTally, CountsEachShapeOnlyWhileTheProfilerIsOn) {
  std::vector<float> a(32 * 48, 0.5f), b(48 * 16, 0.25f), c(32 * 16, 0.0f);
  ResetGemmShapeTimes();
  profile::Enable(false);
  Sgemm(false, false, 32, 16, 48, 1.0f, a.data(), 48, b.data(), 16, 0.0f, c.data(), 16);
  EXPECT_TRUE(GemmShapeTimes().empty());

  profile::Enable(true);
  for (int i = 0; i < 3; ++i) Sgemm(false, false, 32, 16, 48, 1.0f, a.data(), 48, b.data(), 16, 0.0f, c.data(), 16);
  int blocks = 0;
  SgemmThen(false, true, 32, 16, 48, 1.0f, a.data(), 48, b.data(), 48, 0.0f, c.data(), 16,
            [&](int64_t, int64_t, int64_t, int64_t) {
#pragma omp atomic
              ++blocks;
            });
  profile::Enable(false);
  Sgemm(false, false, 32, 16, 48, 1.0f, a.data(), 48, b.data(), 16, 0.0f, c.data(), 16);  // not counted

  const std::vector<GemmShapeTime> t = GemmShapeTimes();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_GT(blocks, 0);
  int64_t plain = 0, fused = 0;
  for (const GemmShapeTime& s : t) {
    EXPECT_EQ(s.m, 32);
    EXPECT_EQ(s.n, 16);
    EXPECT_EQ(s.k, 48);
    EXPECT_FALSE(s.trans_a);
    EXPECT_EQ(s.trans_b, s.fused);
    EXPECT_GT(s.seconds, 0.0);
    (s.fused ? fused : plain) += s.calls;
  }
  EXPECT_EQ(plain, 3);
  EXPECT_EQ(fused, 1);

  ResetGemmShapeTimes();
  EXPECT_TRUE(GemmShapeTimes().empty());
}

}  // namespace
}  // namespace ogai::kernels
