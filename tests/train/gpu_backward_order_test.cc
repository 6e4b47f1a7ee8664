// The GPU step's backward order (train/gpu_backward_order.h) against the real model's
// parameter list, and the DP stream plan built from it: valid, and for GPT-2 124M with 25 MiB
// buckets every bucket but the last is reduced while backward still runs.
#include "train/gpu_backward_order.h"

#include <set>

#include <gtest/gtest.h>

#include "parallel/buckets.h"
#include "parallel/stream_plan.h"

namespace ogai::train {
namespace {

TEST(GpuBackwardOrder, EveryParameterOnceAndThePlanValidates) {
  ModelConfig mc;
  mc.layers = 3;
  mc.heads = 2;
  mc.d_model = 32;
  mc.vocab = 64;
  mc.seq_len = 16;
  auto g = model::GPT::Create(mc, {});
  ASSERT_TRUE(g.ok());
  auto order = GpuBackwardReadyOrder((*g)->params(), mc.layers);
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(std::set<int>(order->begin(), order->end()).size(), (*g)->params().size());
  EXPECT_EQ((*g)->params()[order->back()].name, "wte");
  for (int64_t cap : {int64_t{1}, int64_t{3000}, int64_t{1} << 40}) {
    auto buckets = parallel::PlanBuckets((*g)->params(), (*g)->num_local_params(), cap);
    for (bool overlap : {false, true}) {
      auto plan = parallel::PlanDpStreams(buckets, *order, false, overlap);
      ASSERT_TRUE(plan.ok()) << plan.status().ToString();
      EXPECT_TRUE(parallel::ValidateStreamPlan(*plan, buckets).ok());
    }
  }
}

TEST(GpuBackwardOrder, Gpt2SmallOverlapsAllButTheLastBucket) {
  ModelConfig mc;
  mc.layers = 12;
  mc.heads = 12;
  mc.d_model = 768;
  mc.vocab = 50304;
  mc.seq_len = 1024;
  auto g = model::GPT::Create(mc, {});  // about 1 GB of host buffers, for the real parameter list
  ASSERT_TRUE(g.ok());
  auto order = GpuBackwardReadyOrder((*g)->params(), mc.layers);
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  const int64_t bucket = 25 * (1 << 20) / 4;
  auto buckets = parallel::PlanBuckets((*g)->params(), (*g)->num_local_params(), bucket);
  auto plan = parallel::PlanDpStreams(buckets, *order, false, true);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(parallel::ValidateStreamPlan(*plan, buckets).ok());
  // wte (the first bucket cut from the start of the buffer) is final only at the very end;
  // every other bucket's all-reduce is issued during backward.
  EXPECT_EQ(plan->overlapped_buckets, static_cast<int>(buckets.buckets.size()) - 1);
  EXPECT_GT(buckets.buckets.size(), 4u);
}

TEST(GpuBackwardOrder, MissingTensorIsAnError) {
  ModelConfig mc;
  mc.layers = 2;
  mc.heads = 2;
  mc.d_model = 32;
  mc.vocab = 64;
  mc.seq_len = 16;
  auto g = model::GPT::Create(mc, {});
  ASSERT_TRUE(g.ok());
  auto order = GpuBackwardReadyOrder((*g)->params(), 3);  // one layer more than the model has
  ASSERT_FALSE(order.ok());
  EXPECT_NE(order.status().message().find("'h.2.mlp.proj.w'"), std::string::npos) << order.status().message();
}

}  // namespace
}  // namespace ogai::train
