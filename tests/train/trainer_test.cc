// The single-process trainer: the loss falls, runs are bit-identical, gradient accumulation
// matches one big micro-batch, and a scheduler's checkpoint request (sched/preempt in the
// job's store) saves the step it comes at and stops the run, which resumes bit-identical.
#include "train/trainer.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "store/memory_store.h"
#include "tests/util/job.h"

namespace ogai::train {
namespace {

Config TinyTrainConfig() {
  auto cfg = ParseConfig(R"(model: {layers: 2, heads: 2, d_model: 32, vocab: 256, seq_len: 16}
data: {source: demo, demo_tokens: 20000}
train: {steps: 30, micro_batch: 4, lr: 3.0e-3, warmup: 3, seed: 5})",
                         "inline.yaml");
  EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
  return *cfg;
}

TEST(Trainer, LossFallsAndRunsAreBitIdentical) {
  Config cfg = TinyTrainConfig();
  TrainerOptions quiet;
  quiet.print = false;
  auto a = Trainer::Create(cfg, {}, quiet);
  auto b = Trainer::Create(cfg, {}, quiet);
  ASSERT_TRUE(a.ok() && b.ok());
  RunSummary sa, sb;
  ASSERT_TRUE((*a)->Run(&sa).ok());
  ASSERT_TRUE((*b)->Run(&sb).ok());
  ASSERT_EQ(sa.history.size(), 30u);
  EXPECT_LT(sa.last_loss, 0.7 * sa.first_loss);
  for (size_t i = 0; i < sa.history.size(); ++i) {
    uint64_t x, y;
    std::memcpy(&x, &sa.history[i].loss, 8);
    std::memcpy(&y, &sb.history[i].loss, 8);
    ASSERT_EQ(x, y) << "step " << i + 1;
  }
}

// ogai-bench train --baseline train.recompute=...: a trainer switches recompute modes between
// steps, each mode's activations made once; the losses follow a run that never switches
// (within fp32 rounding: full recompute's chunked head sums dlnf in chunks).
TEST(Trainer, SwitchingRecomputeBetweenStepsKeepsTraining) {
  Config cfg = TinyTrainConfig();
  cfg.train.steps = 6;
  TrainerOptions quiet;
  quiet.print = false;
  auto plain = Trainer::Create(cfg, {}, quiet);
  auto sw = Trainer::Create(cfg, {}, quiet);
  ASSERT_TRUE(plain.ok() && sw.ok());
  const model::Recompute modes[] = {model::Recompute::kFull, model::Recompute::kSelective, model::Recompute::kNone};
  int64_t bytes[3] = {0, 0, 0};
  for (int i = 0; i < 6; ++i) {
    auto b = (*sw)->SwitchRecompute(modes[i % 3]);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    if (i >= 3) {
      EXPECT_EQ(*b, bytes[i % 3]) << "made once, kept";
    }
    bytes[i % 3] = *b;
    StepStats a, c;
    ASSERT_TRUE((*plain)->Step(&a).ok());
    ASSERT_TRUE((*sw)->Step(&c).ok());
    EXPECT_NEAR(c.loss, a.loss, 1e-5 * a.loss) << "step " << i + 1;
  }
  EXPECT_LT(bytes[0], bytes[1]);  // full < selective
  EXPECT_LT(bytes[1], bytes[2]);  // selective < none
}

TEST(Trainer, GradientAccumulationMatchesOneBigMicroBatch) {
  Config big = TinyTrainConfig();
  big.train.steps = 5;
  Config acc = big;
  acc.train.micro_batch = 1;
  acc.train.grad_accum = 4;
  TrainerOptions quiet;
  quiet.print = false;
  auto a = Trainer::Create(big, {}, quiet);
  auto b = Trainer::Create(acc, {}, quiet);
  ASSERT_TRUE(a.ok() && b.ok());
  RunSummary sa, sb;
  ASSERT_TRUE((*a)->Run(&sa).ok());
  ASSERT_TRUE((*b)->Run(&sb).ok());
  for (size_t i = 0; i < sa.history.size(); ++i)
    EXPECT_NEAR(sa.history[i].loss, sb.history[i].loss, 1e-5 * sa.history[i].loss) << "step " << i + 1;
}

TEST(Trainer, ASchedulersCheckpointRequestSavesTheStepAndStops) {
  testing::TempDir dir("trainer_preempt");
  Config cfg = TinyTrainConfig();
  cfg.checkpoint.dir = dir / "ckpt";
  cfg.checkpoint.every_steps = 0;  // no periodic checkpoint: only the requested one and the last
  TrainerOptions quiet;
  quiet.print = false;
  Config ref_cfg = cfg;
  ref_cfg.checkpoint.dir = "";
  auto plain = Trainer::Create(ref_cfg, {}, quiet);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  RunSummary want;
  ASSERT_TRUE((*plain)->Run(&want).ok());

  auto store = std::make_shared<store::MemoryStore>();
  DistContext ctx;
  ctx.control_store = store;
  auto t = Trainer::Create(cfg, ctx, quiet);
  ASSERT_TRUE(t.ok());
  StepStats s;
  for (int i = 0; i < 11; ++i) ASSERT_TRUE((*t)->Step(&s).ok());
  EXPECT_FALSE((*t)->stop_requested());
  ASSERT_TRUE(store->Set("sched/preempt", "1").ok());
  ASSERT_TRUE((*t)->Step(&s).ok());  // step 12: the request is seen at its end
  EXPECT_TRUE((*t)->stop_requested());
  EXPECT_EQ((*t)->step(), 12);
  std::ifstream latest(dir / "ckpt/latest");
  std::string name;
  latest >> name;
  EXPECT_EQ(name, "step_00000012") << "the requested checkpoint is committed before Step returns";
  RunSummary none;
  ASSERT_TRUE((*t)->Run(&none).ok());
  EXPECT_EQ(none.steps, 0) << "Run does not go on after the request";
  t->reset();
  // The next start resumes at step 12 and ends with the uninterrupted run's losses.
  auto r = Trainer::Create(cfg, {}, quiet);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->step(), 12);
  RunSummary got;
  ASSERT_TRUE((*r)->Run(&got).ok());
  ASSERT_EQ(got.history.size(), 18u);
  for (size_t i = 0; i < got.history.size(); ++i) {
    uint64_t x, y;
    std::memcpy(&x, &got.history[i].loss, 8);
    std::memcpy(&y, &want.history[12 + i].loss, 8);
    ASSERT_EQ(x, y) << "step " << 13 + i;
  }
}

}  // namespace
}  // namespace ogai::train
