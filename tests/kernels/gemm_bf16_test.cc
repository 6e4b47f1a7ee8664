// bf16 GEMMs (oneDNN matmul, fp32 accumulation) and the fp32 -> bf16 rounding.
#include "kernels/cpu/gemm_bf16.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace ogai::kernels {
namespace {

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(FromBf16(RoundToBf16(1.0f)), 1.0f);
  EXPECT_EQ(FromBf16(RoundToBf16(1.0f + 0x1p-8f)), 1.0f);                // tie: to even (down)
  EXPECT_EQ(FromBf16(RoundToBf16(1.0f + 3 * 0x1p-8f)), 1.0f + 0x1p-6f);  // tie: to even (up)
  EXPECT_EQ(FromBf16(RoundToBf16(1.0f + 0x1p-8f + 0x1p-12f)), 1.0f + 0x1p-7f);
  EXPECT_EQ(FromBf16(RoundToBf16(-2.5f)), -2.5f);
  EXPECT_TRUE(std::isnan(FromBf16(RoundToBf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isinf(FromBf16(RoundToBf16(std::numeric_limits<float>::infinity()))));
  std::vector<float> src = {0.1f, -3.0f, 1e-30f, 65504.0f};
  std::vector<bf16_t> dst(src.size());
  ToBf16(dst.data(), src.data(), static_cast<int64_t>(src.size()));
  for (size_t i = 0; i < src.size(); ++i) {
    EXPECT_EQ(dst[i], RoundToBf16(src[i]));
    EXPECT_NEAR(FromBf16(dst[i]), src[i], std::fabs(src[i]) * 0x1p-8f);
  }
}

// C = alpha op(A) op(B) + beta C against a double product of the same bf16 values.
TEST(Bf16, GemmMatchesDoubleProductOfTheRoundedOperands) {
  if (Status st = Bf16Available(); !st.ok()) GTEST_SKIP() << st.ToString();
  std::mt19937 g(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t m = 37, n = 29, k = 70;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      for (float beta : {0.0f, 1.0f}) {
        const float alpha = 0.5f;
        const int64_t lda = ta ? m + 3 : k + 3, ldb = tb ? k + 1 : n + 1, ldc = n + 2;
        std::vector<bf16_t> a((ta ? k : m) * lda), b((tb ? n : k) * ldb);
        for (auto& x : a) x = RoundToBf16(nd(g));
        for (auto& x : b) x = RoundToBf16(nd(g));
        std::vector<float> c(m * ldc);
        for (auto& x : c) x = nd(g);
        std::vector<float> c0 = c;
        GemmBf16(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < n; ++j) {
            double s = 0, mag = 0;
            for (int64_t p = 0; p < k; ++p) {
              const double x = FromBf16(ta ? a[p * lda + i] : a[i * lda + p]);
              const double y = FromBf16(tb ? b[j * ldb + p] : b[p * ldb + j]);
              s += x * y;
              mag += std::fabs(x * y);
            }
            const double want = alpha * s + beta * c0[i * ldc + j];
            ASSERT_NEAR(c[i * ldc + j], want, 1e-6 * (alpha * mag + std::fabs(c0[i * ldc + j])) + 1e-6)
                << "ta " << ta << " tb " << tb << " beta " << beta << " at " << i << "," << j;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace ogai::kernels
