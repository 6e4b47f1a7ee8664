// The blocked (flash-attention style) attention against the double-precision reference and
// against the row-wise kernel: at sequence lengths 1, 64 (one tile), 1024 (GPT-2's context)
// and lengths that are not a multiple of the tile; determinism over thread counts.
#include "kernels/cpu/attention.h"

#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/ref/reference.h"

namespace ogai::kernels {
namespace {

using Vec = std::vector<double>;
using FVec = std::vector<float>;

Vec Rand(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<double> d(0.0, 1.0);
  Vec v(n);
  for (auto& x : v) x = static_cast<float>(d(g));  // representable in float
  return v;
}
FVec F(const Vec& v) { return FVec(v.begin(), v.end()); }

// Max over elements of |got - want| / (atol + rtol |want|); <= 1 passes.
double WorstRatio(const FVec& got, const Vec& want, double atol, double rtol) {
  EXPECT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    worst = std::max(worst, std::fabs(got[i] - want[i]) / (atol + rtol * std::fabs(want[i])));
  }
  return worst;
}

struct Case {
  int b, t, nh, hd;
};

class BlockedAttention : public ::testing::TestWithParam<Case> {};

TEST_P(BlockedAttention, MatchesReference) {
  const auto [b, t, nh, hd] = GetParam();
  const int c = nh * hd;
  Vec qkv = Rand(static_cast<size_t>(b) * t * 3 * c, 100 + t), r = Rand(static_cast<size_t>(b) * t * c, 200 + t);
  FVec fqkv = F(qkv), fr = F(r), out(static_cast<size_t>(b) * t * c), lse(static_cast<size_t>(b) * nh * t),
       dqkv(qkv.size());
  AttentionForwardBlocked(out.data(), lse.data(), fqkv.data(), b, t, nh, hd);
  Vec want;
  ref::Attention(want, qkv, b, t, nh, hd);
  EXPECT_LE(WorstRatio(out, want, 1e-5, 1e-4), 1.0) << "forward, t=" << t;
  AttentionBackwardBlocked(dqkv.data(), fr.data(), out.data(), lse.data(), fqkv.data(), b, t, nh, hd);
  Vec rd;
  ref::AttentionBackward(rd, r, qkv, b, t, nh, hd);
  EXPECT_LE(WorstRatio(dqkv, rd, 1e-4, 1e-3), 1.0) << "backward, t=" << t;

  // The row-wise kernel computes the same function (different summation order).
  FVec out2(out.size()), lse2(lse.size()), dqkv2(dqkv.size());
  AttentionForwardRowwise(out2.data(), lse2.data(), fqkv.data(), b, t, nh, hd);
  AttentionBackwardRowwise(dqkv2.data(), fr.data(), out2.data(), lse2.data(), fqkv.data(), b, t, nh, hd);
  EXPECT_LE(WorstRatio(out2, want, 1e-5, 1e-4), 1.0) << "rowwise forward, t=" << t;
  EXPECT_LE(WorstRatio(dqkv2, rd, 1e-4, 1e-3), 1.0) << "rowwise backward, t=" << t;
}

INSTANTIATE_TEST_SUITE_P(Lengths, BlockedAttention,
                         ::testing::Values(Case{2, 1, 3, 8},      // one token
                                           Case{2, 64, 3, 16},    // exactly one tile
                                           Case{1, 1024, 2, 64},  // GPT-2's context, GPT-2's head size
                                           Case{2, 100, 2, 16},   // a full tile and a partial one
                                           Case{1, 193, 3, 32},   // three tiles and one row
                                           Case{1, 37, 4, 4}),    // shorter than a tile
                         [](const auto& info) { return "seq" + std::to_string(info.param.t); });

TEST(BlockedAttention, BitsDoNotDependOnThreads) {
  const int b = 2, t = 150, nh = 3, hd = 16, c = nh * hd;
  FVec qkv = F(Rand(static_cast<size_t>(b) * t * 3 * c, 7)), g = F(Rand(static_cast<size_t>(b) * t * c, 8));
  auto run = [&](int threads, FVec& out, FVec& dqkv) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    FVec lse(static_cast<size_t>(b) * nh * t);
    out.assign(static_cast<size_t>(b) * t * c, 0.0f);
    dqkv.assign(qkv.size(), 0.0f);
    AttentionForwardBlocked(out.data(), lse.data(), qkv.data(), b, t, nh, hd);
    AttentionBackwardBlocked(dqkv.data(), g.data(), out.data(), lse.data(), qkv.data(), b, t, nh, hd);
    omp_set_num_threads(saved);
  };
  FVec o1, d1, o3, d3;
  run(1, o1, d1);
  run(3, o3, d3);
  EXPECT_EQ(o1, o3);
  EXPECT_EQ(d1, d3);
}

TEST(BlockedAttention, KernelSwitch) {
  EXPECT_TRUE(SetAttentionKernel("rowwise").ok());
  EXPECT_EQ(GetAttentionKernel(), AttentionKernel::kRowwise);
  EXPECT_TRUE(SetAttentionKernel("blocked").ok());
  EXPECT_EQ(GetAttentionKernel(), AttentionKernel::kBlocked);
  Status bad = SetAttentionKernel("flash");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.ToString().find("blocked or rowwise"), std::string::npos) << bad.ToString();
}

}  // namespace
}  // namespace ogai::kernels
