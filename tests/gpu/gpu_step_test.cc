// The one-GPU training step (train/gpu_step.h) against the CPU fp32 trainer on the same
// config, seed and data: the loss of each of the first steps within bf16 tolerance, the
// gradient norm close, and the loss going down. Skips without a CUDA device.
#include "train/gpu_step.h"

#include <cmath>

#include <gtest/gtest.h>

#include "kernels/cuda/device.h"
#include "train/trainer.h"

namespace ogai::train {
namespace {

Config Tiny() {
  auto r = ParseConfig(
      "model:\n  layers: 2\n  heads: 4\n  d_model: 64\n  vocab: 256\n  seq_len: 64\n"
      "train:\n  steps: 8\n  micro_batch: 4\n  grad_accum: 2\n  lr: 1.0e-3\n  warmup: 0\n  grad_clip: 1.0\n",
      "tiny.yaml");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

TEST(GpuStep, FirstStepsMatchTheCpuRun) {
  if (kernels::cuda::DeviceCount() == 0) {
    GTEST_SKIP() << "no CUDA device visible: the GPU step is compiled but not run here; scripts/gpu_check.sh runs "
                    "it on a GPU machine";
  }
  Config cfg = Tiny();
  TrainerOptions opts;
  opts.print = false;
  auto cpu = Trainer::Create(cfg, {}, opts);
  ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
  Config gcfg = cfg;
  gcfg.model.device = "cuda";
  auto gpu = GpuStep::Create(gcfg, 0);
  ASSERT_TRUE(gpu.ok()) << gpu.status().ToString();
  double first = 0, last = 0;
  for (int i = 0; i < 8; ++i) {
    StepStats c;
    ASSERT_TRUE((*cpu)->Step(&c).ok());
    auto g = (*gpu)->Step();
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    // bf16 activations and parameters: a few parts in a thousand of the loss.
    EXPECT_NEAR(g->loss, c.loss, 0.01 * c.loss) << "step " << i + 1;
    EXPECT_NEAR(g->grad_norm, c.grad_norm, 0.05 * c.grad_norm + 1e-3) << "step " << i + 1;
    if (i == 0) first = g->loss;
    last = g->loss;
  }
  EXPECT_LT(last, first) << "the GPU run did not learn";
}

TEST(GpuStep, RefusesParallelLayouts) {
  if (kernels::cuda::DeviceCount() == 0) GTEST_SKIP() << "no CUDA device visible: GpuStep::Create needs one";
  Config cfg = Tiny();
  cfg.model.device = "cuda";
  cfg.parallel.dp = 2;
  auto g = GpuStep::Create(cfg, 0);  // no group given
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("needs an nccl process group"), std::string::npos) << g.status().message();
  cfg.parallel.dp = 1;
  cfg.parallel.tp = 2;
  g = GpuStep::Create(cfg, 0);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("not wired"), std::string::npos) << g.status().message();
}

}  // namespace
}  // namespace ogai::train
