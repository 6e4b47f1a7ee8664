// Pure planning pieces of 3D parallelism: layout arithmetic, the 1F1B order, DP buckets.
#include <set>

#include <gtest/gtest.h>

#include "comm/device_mesh.h"
#include "parallel/buckets.h"
#include "parallel/layout.h"
#include "parallel/schedule.h"
#include "parallel/stage_split.h"

namespace ogai::parallel {
namespace {

// The two train.yaml sections MakeLayout reads.
struct Sections {
  ModelConfig model;
  ParallelConfig parallel;
};

Sections Cfg(int dp, int tp, int pp, int layers = 4) {
  Sections c;
  c.model.layers = layers;
  c.model.heads = 4;
  c.model.d_model = 64;
  c.model.vocab = 256;
  c.parallel.dp = dp;
  c.parallel.tp = tp;
  c.parallel.pp = pp;
  return c;
}

Result<ParallelLayout> Layout(const Sections& c, int rank, int world) {
  return MakeLayout(c.parallel, c.model, rank, world);
}

TEST(Layout, MegatronOrderTpAdjacentPpOutermost) {
  Sections c = Cfg(2, 2, 2);
  std::set<std::tuple<int, int, int>> seen;
  for (int r = 0; r < 8; ++r) {
    auto l = Layout(c, r, 8);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    EXPECT_EQ(comm::DeviceMesh::RankOf({l->tp_idx, l->dp_idx, l->pp_idx}, 2, 2, 2), r);
    seen.insert({l->pp_idx, l->dp_idx, l->tp_idx});
  }
  EXPECT_EQ(seen.size(), 8u);
  auto l1 = Layout(c, 1, 8);
  EXPECT_EQ(l1->tp_idx, 1);  // ranks 0 and 1 form a TP pair
  EXPECT_EQ(l1->dp_idx, 0);
  auto l4 = Layout(c, 4, 8);
  EXPECT_EQ(l4->pp_idx, 1);
  EXPECT_TRUE(l4->last_stage());
  EXPECT_EQ(l4->ModelLayout().layer_begin, 2);
  EXPECT_FALSE(l4->ModelLayout().first_stage);
}

TEST(Layout, ClearErrors) {
  auto bad = Layout(Cfg(2, 2, 1), 0, 8);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("= 4 but the job has 8 ranks"), std::string::npos) << bad.status().message();
  Sections c = Cfg(1, 3, 1);
  c.model.heads = 4;
  bad = Layout(c, 0, 3);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("model.heads = 4 is not divisible by parallel.tp = 3"), std::string::npos);
  bad = Layout(Cfg(1, 1, 8, 4), 0, 8);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("fewer than parallel.pp"), std::string::npos);
}

TEST(Layout, StageRangesBalancedAndOverride) {
  auto r = StageLayerRanges(5, 2, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], std::make_pair(0, 3));
  EXPECT_EQ((*r)[1], std::make_pair(3, 5));
  r = StageLayerRanges(5, 2, {1, 4});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[1], std::make_pair(1, 5));
  EXPECT_FALSE(StageLayerRanges(5, 2, {2, 2}).ok());
  EXPECT_FALSE(StageLayerRanges(5, 2, {5}).ok());
}

// Without parallel.pp_layers the stages are cut by modelled cost: GPT-2 124M's head (6 V C per
// token, about five blocks' worth) pulls blocks off the last stage.
TEST(Layout, StagesSplitByCostCountTheHead) {
  ModelConfig gpt2;
  gpt2.layers = 12;
  gpt2.heads = 12;
  gpt2.d_model = 768;
  gpt2.vocab = 50304;
  gpt2.seq_len = 1024;
  const double ratio = HeadCostPerToken(gpt2) / BlockCostPerToken(gpt2);
  EXPECT_GT(ratio, 4.5);
  EXPECT_LT(ratio, 5.5);
  EXPECT_EQ(CostBalancedLayers(gpt2, 2), (std::vector<int>{8, 4}));
  EXPECT_EQ(CostBalancedLayers(gpt2, 1), (std::vector<int>{12}));
  const std::vector<int> four = CostBalancedLayers(gpt2, 4);
  EXPECT_EQ(four.size(), 4u);
  EXPECT_EQ(four.back(), 1);  // the head alone is worth more than a stage's share of blocks
  int sum = 0;
  for (int n : four) {
    EXPECT_GE(n, 1);
    sum += n;
  }
  EXPECT_EQ(sum, 12);
  // The largest stage cost is minimal: no other 2-way cut beats 8 + 4.
  const double b = BlockCostPerToken(gpt2), h = HeadCostPerToken(gpt2);
  const double chosen = std::max(8 * b, 4 * b + h);
  for (int first = 1; first < 12; ++first) EXPECT_LE(chosen, std::max(first * b, (12 - first) * b + h) + 1e-6);
  // A small head changes nothing: equal blocks, the extra one first, as before.
  ModelConfig tiny;
  tiny.layers = 5;
  tiny.d_model = 128;
  tiny.vocab = 256;
  EXPECT_EQ(CostBalancedLayers(tiny, 2), (std::vector<int>{3, 2}));
  // MakeLayout uses it when pp_layers is empty, and the list when given.
  Sections c = Cfg(1, 1, 2);
  c.model = gpt2;
  auto l = Layout(c, 0, 2);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->stage_layers[0], std::make_pair(0, 8));
  EXPECT_EQ(l->stage_layers[1], std::make_pair(8, 12));
  c.parallel.pp_layers = {6, 6};
  l = Layout(c, 1, 2);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->stage_layers[1], std::make_pair(6, 12));
}

TEST(OneFOneB, OrderInvariants) {
  for (int P : {1, 2, 3, 4})
    for (int m : {1, 2, 3, 4, 8}) {
      for (int s = 0; s < P; ++s) {
        auto ops = OneFOneB(s, P, m);
        ASSERT_EQ(static_cast<int>(ops.size()), 2 * m);
        std::vector<int> fpos(m, -1), bpos(m, -1);
        int nextf = 0, nextb = 0;
        for (size_t i = 0; i < ops.size(); ++i) {
          if (ops[i].kind == PipeOp::kForward) {
            EXPECT_EQ(ops[i].micro, nextf++);  // forwards in order
            fpos[ops[i].micro] = static_cast<int>(i);
          } else {
            EXPECT_EQ(ops[i].micro, nextb++);  // backwards in order
            bpos[ops[i].micro] = static_cast<int>(i);
          }
        }
        for (int k = 0; k < m; ++k) EXPECT_LT(fpos[k], bpos[k]);
        EXPECT_LE(MaxInFlight(ops), std::min(P - s, m)) << "P=" << P << " s=" << s << " m=" << m;
      }
    }
}

TEST(OneFOneB, ExactOrderForFourStagesEightMicro) {
  using K = PipeOp;
  auto ops = OneFOneB(1, 4, 8);
  // Stage 1 of 4: two warm-up forwards, then 1F1B, then the cool-down.
  std::vector<PipeOp> want = {{K::kForward, 0}, {K::kForward, 1},  {K::kForward, 2},  {K::kBackward, 0},
                              {K::kForward, 3}, {K::kBackward, 1}, {K::kForward, 4},  {K::kBackward, 2},
                              {K::kForward, 5}, {K::kBackward, 3}, {K::kForward, 6},  {K::kBackward, 4},
                              {K::kForward, 7}, {K::kBackward, 5}, {K::kBackward, 6}, {K::kBackward, 7}};
  EXPECT_EQ(ops, want);
  auto last = OneFOneB(3, 4, 8);
  EXPECT_EQ(last[0], (PipeOp{K::kForward, 0}));
  EXPECT_EQ(last[1], (PipeOp{K::kBackward, 0}));  // the last stage has no warm-up
}

TEST(Buckets, CoverTheBufferInReverseOrder) {
  ModelConfig mc;
  mc.layers = 3;
  mc.heads = 2;
  mc.d_model = 32;
  mc.vocab = 64;
  mc.seq_len = 16;
  auto g = model::GPT::Create(mc, {});
  ASSERT_TRUE(g.ok());
  const auto& params = (*g)->params();
  const int64_t total = (*g)->num_local_params();
  for (int64_t cap : {int64_t{1}, int64_t{5000}, int64_t{1} << 40}) {
    BucketPlan plan = PlanBuckets(params, total, cap);
    ASSERT_FALSE(plan.buckets.empty());
    EXPECT_EQ(plan.buckets.front().end, total);
    EXPECT_EQ(plan.buckets.back().begin, 0);
    for (size_t b = 1; b < plan.buckets.size(); ++b) EXPECT_EQ(plan.buckets[b].end, plan.buckets[b - 1].begin);
    for (size_t p = 0; p < params.size(); ++p) {
      const Bucket& b = plan.buckets[plan.bucket_of[p]];
      EXPECT_GE(params[p].offset, b.begin);
      EXPECT_LE(params[p].offset + params[p].numel, b.end);
    }
    if (cap == 1) {
      EXPECT_EQ(plan.buckets.size(), params.size());
    }
    if (cap == (int64_t{1} << 40)) {
      EXPECT_EQ(plan.buckets.size(), 1u);
    }
    // The first bucket holds the last tensors (the final LayerNorm).
    EXPECT_EQ(params[plan.buckets[0].params[0]].name, "lnf.b");
  }
}

TEST(Buckets, ZeroChunksPartitionEachBucket) {
  Bucket b;
  b.begin = 100;
  b.end = 117;
  for (int dp : {1, 2, 3, 4, 8}) {
    int64_t covered = 0, prev_end = b.begin;
    for (int r = 0; r < dp; ++r) {
      auto [s, e] = ZeroChunk(b, r, dp);
      EXPECT_EQ(s, prev_end);
      EXPECT_LE(e, b.end);
      covered += e - s;
      prev_end = e;
    }
    EXPECT_EQ(covered, b.size());
  }
}

}  // namespace
}  // namespace ogai::parallel
