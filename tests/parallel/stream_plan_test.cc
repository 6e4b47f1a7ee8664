// The two-stream order of a GPU step (parallel/stream_plan.h), checked on the host: plans for
// every combination of overlap and ZeRO-1 validate, overlap issues all but the last bucket's
// reduction while backward runs, and a plan with one ordering edge removed is caught.
#include "parallel/stream_plan.h"

#include <numeric>

#include <gtest/gtest.h>

#include "model/gpt.h"

namespace ogai::parallel {
namespace {

struct Fixture {
  std::unique_ptr<model::GPT> gpt;
  BucketPlan buckets;
  std::vector<int> ready;  // backward finishes the last parameters first
};

Fixture Make(int64_t bucket_elems) {
  ModelConfig mc;
  mc.layers = 3;
  mc.heads = 2;
  mc.d_model = 32;
  mc.vocab = 64;
  mc.seq_len = 16;
  Fixture f;
  auto g = model::GPT::Create(mc, {});
  EXPECT_TRUE(g.ok());
  f.gpt = std::move(g).value();
  f.buckets = PlanBuckets(f.gpt->params(), f.gpt->num_local_params(), bucket_elems);
  f.ready.resize(f.gpt->params().size());
  std::iota(f.ready.rbegin(), f.ready.rend(), 0);
  return f;
}

int CountKind(const StreamPlan& p, StreamOp::Kind k) {
  int n = 0;
  for (const auto& op : p.ops) n += op.kind == k;
  return n;
}

TEST(StreamPlan, EveryVariantValidates) {
  Fixture f = Make(5000);
  ASSERT_GT(f.buckets.buckets.size(), 2u);
  for (bool zero1 : {false, true}) {
    for (bool overlap : {false, true}) {
      auto p = PlanDpStreams(f.buckets, f.ready, zero1, overlap);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      Status st = ValidateStreamPlan(*p, f.buckets);
      EXPECT_TRUE(st.ok()) << "zero1=" << zero1 << " overlap=" << overlap << ": " << st.ToString() << "\n"
                           << p->Describe();
      const int nb = static_cast<int>(f.buckets.buckets.size());
      EXPECT_EQ(CountKind(*p, zero1 ? StreamOp::kReduceScatter : StreamOp::kAllReduce), nb);
      EXPECT_EQ(CountKind(*p, StreamOp::kAllGather), zero1 ? nb : 0);
      EXPECT_EQ(CountKind(*p, StreamOp::kOptimizer), 1);
    }
  }
}

TEST(StreamPlan, OverlapIssuesReductionsDuringBackward) {
  Fixture f = Make(5000);
  const int nb = static_cast<int>(f.buckets.buckets.size());
  auto on = PlanDpStreams(f.buckets, f.ready, false, true);
  auto off = PlanDpStreams(f.buckets, f.ready, false, false);
  ASSERT_TRUE(on.ok() && off.ok());
  // The bucket holding the first parameter completes with the last gradient; every other
  // bucket's all-reduce is issued before backward ends.
  EXPECT_EQ(on->overlapped_buckets, nb - 1);
  EXPECT_EQ(off->overlapped_buckets, 0);
  size_t last_grad = 0, first_reduce = 0;
  for (size_t i = 0; i < off->ops.size(); ++i) {
    if (off->ops[i].kind == StreamOp::kGrad) last_grad = i;
    if (off->ops[i].kind == StreamOp::kAllReduce && first_reduce == 0) first_reduce = i;
  }
  EXPECT_GT(first_reduce, last_grad) << "without overlap, reductions follow backward";
}

TEST(StreamPlan, MissingEdgesAreCaught) {
  Fixture f = Make(5000);
  auto p = PlanDpStreams(f.buckets, f.ready, true, true);
  ASSERT_TRUE(p.ok());
  // Remove, one at a time, each wait: every one of them orders something the rules need.
  int caught = 0, waits = 0;
  for (size_t i = 0; i < p->ops.size(); ++i) {
    if (p->ops[i].kind != StreamOp::kWait) continue;
    ++waits;
    StreamPlan broken = *p;
    broken.ops.erase(broken.ops.begin() + static_cast<std::ptrdiff_t>(i));
    Status st = ValidateStreamPlan(broken, f.buckets);
    if (!st.ok()) {
      ++caught;
      EXPECT_NE(st.message().find("is not ordered after"), std::string::npos) << st.message();
    }
  }
  EXPECT_GT(waits, 0);
  EXPECT_EQ(caught, waits) << "a wait the validator does not need is a wait the plan should not have";
}

TEST(StreamPlan, CollectiveOnTheComputeStreamAndEarlyReductionAreCaught) {
  Fixture f = Make(5000);
  auto p = PlanDpStreams(f.buckets, f.ready, false, true);
  ASSERT_TRUE(p.ok());
  StreamPlan wrong_stream = *p;
  for (auto& op : wrong_stream.ops) {
    if (op.kind == StreamOp::kAllReduce) {
      op.stream = Stream::kCompute;
      break;
    }
  }
  Status st = ValidateStreamPlan(wrong_stream, f.buckets);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("collective outside the comm stream"), std::string::npos) << st.message();
  // Move the first all-reduce (and its wait) before the gradients it reduces.
  StreamPlan early = *p;
  size_t ar = 0;
  while (early.ops[ar].kind != StreamOp::kAllReduce) ++ar;
  StreamOp op = early.ops[ar];
  early.ops.erase(early.ops.begin() + static_cast<std::ptrdiff_t>(ar));
  early.ops.insert(early.ops.begin(), op);
  st = ValidateStreamPlan(early, f.buckets);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("before backward issued every gradient"), std::string::npos) << st.message();
}

TEST(StreamPlan, BadReadyOrder) {
  Fixture f = Make(5000);
  std::vector<int> dup = f.ready;
  dup[1] = dup[0];
  EXPECT_FALSE(PlanDpStreams(f.buckets, dup, false, true).ok());
  std::vector<int> short_order(f.ready.begin(), f.ready.end() - 1);
  auto p = PlanDpStreams(f.buckets, short_order, false, true);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("misses"), std::string::npos) << p.status().message();
}

}  // namespace
}  // namespace ogai::parallel
