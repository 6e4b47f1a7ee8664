// The learning-rate schedule the trainer steps through (optim/schedule.h).
#include <gtest/gtest.h>

#include "optim/schedule.h"

namespace ogai::train {
namespace {

TEST(Schedule, WarmupCosineAndConstant) {
  TrainConfig t;
  t.lr = 1.0;
  t.min_lr = 0.1;
  t.warmup = 10;
  t.steps = 110;
  EXPECT_DOUBLE_EQ(optim::LearningRate(t, 0), 0.1);
  EXPECT_DOUBLE_EQ(optim::LearningRate(t, 9), 1.0);
  EXPECT_NEAR(optim::LearningRate(t, 60), 0.55, 1e-12);
  EXPECT_NEAR(optim::LearningRate(t, 110), 0.1, 1e-12);
  t.schedule = "linear";
  EXPECT_NEAR(optim::LearningRate(t, 60), 0.55, 1e-12);
  t.schedule = "constant";
  EXPECT_DOUBLE_EQ(optim::LearningRate(t, 100), 1.0);
}

}  // namespace
}  // namespace ogai::train
