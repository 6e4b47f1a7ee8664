// The device arena plan (train/device_arena.h): parameter counts equal model/gpt.cc's (and the
// host memory estimate's) for every layout, regions are aligned and disjoint, sizes move the
// way the config says, and a plan that does not fit is refused with the numbers and the fix.
#include "train/device_arena.h"

#include <gtest/gtest.h>

#include "model/gpt.h"
#include "train/memory_estimate.h"

namespace ogai::train {
namespace {

Config Small(int tp, int pp, int dp, int zero = 0) {
  auto r = ParseConfig("model:\n  layers: 4\n  heads: 4\n  d_model: 64\n  vocab: 256\n  seq_len: 32\n", "t.yaml",
                       {"parallel.tp=" + std::to_string(tp), "parallel.pp=" + std::to_string(pp),
                        "parallel.dp=" + std::to_string(dp), "parallel.zero=" + std::to_string(zero)});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

TEST(DeviceArena, ParamCountMatchesTheModelForEveryLayout) {
  for (int tp : {1, 2, 4}) {
    for (int pp : {1, 2}) {
      Config cfg = Small(tp, pp, 1);
      for (int rank = 0; rank < tp * pp; ++rank) {
        auto L = parallel::MakeLayout(cfg.parallel, cfg.model, rank, tp * pp);
        ASSERT_TRUE(L.ok()) << L.status().ToString();
        auto g = model::GPT::Create(cfg.model, L->ModelLayout());
        ASSERT_TRUE(g.ok()) << g.status().ToString();
        EXPECT_EQ(LocalParamElements(cfg.model, *L), (*g)->num_local_params())
            << "tp " << tp << " pp " << pp << " rank " << rank;
        // The host memory estimate counts the same (both use train/param_count.h).
        EXPECT_EQ(EstimateStageMemory(cfg, L->pp_idx).parameters, 4.0 * static_cast<double>((*g)->num_local_params()))
            << "tp " << tp << " pp " << pp << " rank " << rank;
      }
    }
  }
}

TEST(DeviceArena, RegionsAreAlignedAndDisjoint) {
  Config cfg = Small(1, 1, 1);
  auto L = parallel::MakeLayout(cfg.parallel, cfg.model, 0, 1);
  ASSERT_TRUE(L.ok());
  ArenaPlan p = PlanDeviceArena(cfg, *L);
  ASSERT_FALSE(p.regions.empty());
  int64_t end = 0;
  for (const auto& r : p.regions) {
    EXPECT_EQ(r.offset % kArenaAlign, 0) << r.name;
    EXPECT_GE(r.offset, end) << r.name << " overlaps the region before it";
    EXPECT_GT(r.bytes, 0) << r.name;
    end = r.offset + r.bytes;
  }
  EXPECT_GE(p.total_bytes, end);
  EXPECT_LT(p.total_bytes, end + kArenaAlign);
  ASSERT_NE(p.Find("params.bf16"), nullptr);
  EXPECT_EQ(p.Find("params.bf16")->bytes, 2 * p.local_params);
  EXPECT_EQ(p.Find("grads.fp32")->bytes, 4 * p.local_params);
  EXPECT_NE(p.Describe().find("total"), std::string::npos);
}

TEST(DeviceArena, SizesFollowTheConfig) {
  Config a = Small(1, 1, 4), b = Small(1, 1, 4, 1);
  auto L = parallel::MakeLayout(a.parallel, a.model, 0, 4);
  ASSERT_TRUE(L.ok());
  const ArenaPlan pa = PlanDeviceArena(a, *L), pb = PlanDeviceArena(b, *L);
  // ZeRO-1 over dp 4: the optimizer state is about a quarter.
  EXPECT_LT(pb.Find("adam.m")->bytes, pa.Find("adam.m")->bytes / 3);
  EXPECT_EQ(pb.Find("params.bf16")->bytes, pa.Find("params.bf16")->bytes);
  // Twice the micro-batch: twice the kept activations.
  Config c = a;
  c.train.micro_batch *= 2;
  const ArenaPlan pc = PlanDeviceArena(c, *L);
  EXPECT_EQ(pc.Find("act.blocks")->bytes, 2 * pa.Find("act.blocks")->bytes);
  EXPECT_EQ(pc.Find("logits")->bytes, 2 * pa.Find("logits")->bytes);
}

TEST(DeviceArena, PipelineStagesKeepMicroBatchesInFlight) {
  Config cfg = Small(1, 2, 1);
  cfg.train.grad_accum = 8;
  auto first = parallel::MakeLayout(cfg.parallel, cfg.model, 0, 2),
       last = parallel::MakeLayout(cfg.parallel, cfg.model, 1, 2);
  ASSERT_TRUE(first.ok() && last.ok());
  const ArenaPlan pf = PlanDeviceArena(cfg, *first), pl = PlanDeviceArena(cfg, *last);
  EXPECT_EQ(pf.micro_batches_in_flight, 2);  // 1F1B: pp - stage
  EXPECT_EQ(pl.micro_batches_in_flight, 1);
  EXPECT_EQ(pf.Find("logits"), nullptr);
  EXPECT_NE(pl.Find("logits"), nullptr);
  EXPECT_NE(pf.Find("pp.buffers"), nullptr);
}

TEST(DeviceArena, Gpt2SmallOnOneGpu) {
  auto r = ParseConfig("model:\n  layers: 12\n  heads: 12\n  d_model: 768\n  vocab: 50304\n  seq_len: 1024\n",
                       "gpt2.yaml", {"train.micro_batch=16"});
  ASSERT_TRUE(r.ok());
  auto L = parallel::MakeLayout(r->parallel, r->model, 0, 1);
  ASSERT_TRUE(L.ok());
  const ArenaPlan p = PlanDeviceArena(*r, *L);
  // 124M parameters (plus padding) at 2 + 4 + 3 x 4 bytes: 18 bytes each.
  EXPECT_GT(p.local_params, 124'000'000);
  EXPECT_LT(p.local_params, 125'000'000);
  const int64_t gib = 1ll << 30;
  EXPECT_TRUE(CheckArenaFits(p, 140 * gib, 2 * gib, "an H200").ok()) << p.Describe();
  Status st = CheckArenaFits(p, 8 * gib, 2 * gib, "cuda:0 (test)");
  ASSERT_FALSE(st.ok());
  const std::string& m = st.message();
  EXPECT_NE(m.find("cuda:0 (test) has 8192.0 MiB free"), std::string::npos) << m;
  EXPECT_NE(m.find("act.blocks"), std::string::npos) << m;
  EXPECT_NE(m.find("lower train.micro_batch"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace ogai::train
