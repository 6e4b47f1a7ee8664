// train.precision=bf16 (mixed precision) against fp32 on examples/tiny.yaml's model: a
// 300-step run whose loss stays within 2% of the fp32 run's at every logged step.
//
// The learning rate is 1e-3 (tiny.yaml trains at 3e-3). At 3e-3 this model is in a regime
// where a perturbation of the size of bf16 rounding (2^-9 relative) moves the loss curve by up
// to ~6% after step 40 (bf16 ends lower, not higher); the same happens with fp32 GEMMs on
// operands rounded to bf16, so it is the rounding the run amplifies, not the bf16 kernels.
// Perturbations of fp32 rounding size (a different summation order) move it by ~1e-6. At 1e-3
// bf16 stays within 0.1% of fp32 over the 300 steps.
#include <cmath>

#include <gtest/gtest.h>

#include "kernels/cpu/gemm_bf16.h"
#include "train/config.h"
#include "train/trainer.h"

namespace ogai::train {
namespace {

std::vector<StepStats> TrainTiny(const std::string& precision) {
  const std::string path = std::string(OGAI_TEST_SOURCE_DIR) + "/examples/tiny.yaml";
  auto cfg = LoadConfig(path, {"train.steps=300", "train.lr=1e-3", "train.min_lr=1e-4", "train.log_every=10",
                               "train.precision=" + precision});
  EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
  if (!cfg.ok()) return {};
  TrainerOptions quiet;
  quiet.print = false;
  auto t = Trainer::Create(*cfg, {}, quiet);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  if (!t.ok()) return {};
  RunSummary s;
  Status st = (*t)->Run(&s);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s.history;
}

TEST(Precision, Bf16LossWithinTwoPercentOfFp32AtEveryLoggedStep) {
  if (Status st = kernels::Bf16Available(); !st.ok()) GTEST_SKIP() << st.ToString();
  const auto fp32 = TrainTiny("fp32");
  const auto bf16 = TrainTiny("bf16");
  ASSERT_EQ(fp32.size(), 300u);
  ASSERT_EQ(bf16.size(), 300u);
  int logged = 0;
  double worst = 0;
  for (size_t i = 0; i < fp32.size(); ++i) {
    const int64_t step = fp32[i].step;
    if (step != 1 && step % 10 != 0) continue;  // the steps the console logs
    ++logged;
    const double rel = std::fabs(bf16[i].loss - fp32[i].loss) / fp32[i].loss;
    worst = std::max(worst, rel);
    EXPECT_LE(rel, 0.02) << "step " << step << ": bf16 loss " << bf16[i].loss << ", fp32 " << fp32[i].loss;
  }
  EXPECT_EQ(logged, 31);
  // bf16 must actually differ from fp32 somewhere (the GEMMs really ran in bf16).
  bool differs = false;
  for (size_t i = 0; i < fp32.size(); ++i) differs |= bf16[i].loss != fp32[i].loss;
  EXPECT_TRUE(differs) << "bf16 gave fp32's bits: the bf16 path did not run";
  EXPECT_LT(bf16.back().loss, 0.6 * bf16.front().loss) << "the bf16 run did not learn";
  std::printf("worst relative loss difference at a logged step: %.5f\n", worst);
}

TEST(Precision, RejectsAnUnknownPrecision) {
  const std::string path = std::string(OGAI_TEST_SOURCE_DIR) + "/examples/tiny.yaml";
  auto cfg = LoadConfig(path, {"train.precision=fp16"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().ToString().find("train.precision"), std::string::npos) << cfg.status().ToString();
}

}  // namespace
}  // namespace ogai::train
