// The single-process trainer: the loss falls, runs are bit-identical, and gradient
// accumulation matches one big micro-batch.
#include "train/trainer.h"

#include <cstring>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ogai::train
