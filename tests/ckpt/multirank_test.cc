// Checkpoints of multi-process jobs, through ogai-run and the real trainer:
//   * bit-exact resume on a 2x2x2 layout: 20 steps straight vs resuming the step-10
//     checkpoint of the same run for steps 11..20 — identical loss bits;
//   * resharding: a (dp 2, tp 2, pp 1) checkpoint resumed at (1, 1, 2) and at (4, 1, 1)
//     continues within the layout-equivalence tolerance (1e-5 relative) of the
//     uninterrupted run.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "tests/util/job.h"

namespace ogai {
namespace {

using testing::ReadStepMetrics;
using testing::RunShell;
using testing::TempDir;

const char* kConfig = R"(model: {layers: 4, heads: 4, d_model: 64, vocab: 256, seq_len: 32}
data: {source: demo, demo_tokens: 200000, demo_seed: 3}
train: {steps: 20, micro_batch: 1, global_batch: 8, lr: 3.0e-3, warmup: 2, seed: 7, log_every: 20}
parallel: {timeout_s: 120}
)";

std::string Job(const TempDir& d, int dp, int tp, int pp, const std::string& extra) {
  return testing::BuildDir() + "/bin/ogai-run -np " + std::to_string(dp * tp * pp) + " --oversubscribe " +
         (d / "c.yaml") + " parallel.dp=" + std::to_string(dp) + " parallel.tp=" + std::to_string(tp) +
         " parallel.pp=" + std::to_string(pp) + " " + extra;
}

TEST(MultiRankCheckpoint, BitExactResumeOn2x2x2) {
  TempDir d("ogai_ckpt_mr");
  testing::WriteFile(d / "c.yaml", kConfig);
  auto full = RunShell(Job(d, 2, 2, 2,
                           "checkpoint.dir=" + (d / "a") +
                               " checkpoint.every_steps=10 'train.metrics_file=" + (d / "full_{rank}.jsonl") + "'"));
  ASSERT_EQ(full.exit_code, 0) << full.output;
  auto verify = RunShell(testing::BuildDir() + "/bin/ogai-ckpt verify " + (d / "a/step_00000010"));
  ASSERT_EQ(verify.exit_code, 0) << verify.output;
  auto resumed = RunShell(Job(d, 2, 2, 2,
                              "checkpoint.dir=" + (d / "b") + " checkpoint.resume=" + (d / "a/step_00000010") +
                                  " 'train.metrics_file=" + (d / "res_{rank}.jsonl") + "'"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  auto a = ReadStepMetrics(d / "full_0.jsonl");
  auto b = ReadStepMetrics(d / "res_0.jsonl");
  ASSERT_EQ(a.size(), 20u);
  ASSERT_EQ(b.size(), 10u) << resumed.output;
  for (size_t i = 0; i < b.size(); ++i) {
    EXPECT_EQ(b[i].step, a[10 + i].step);
    EXPECT_EQ(b[i].loss_bits, a[10 + i].loss_bits) << "step " << b[i].step;
  }
}

TEST(MultiRankCheckpoint, ReshardsToOtherLayouts) {
  TempDir d("ogai_ckpt_rs");
  testing::WriteFile(d / "c.yaml", kConfig);
  auto full = RunShell(Job(d, 2, 2, 1,
                           "checkpoint.dir=" + (d / "a") +
                               " checkpoint.every_steps=10 'train.metrics_file=" + (d / "full_{rank}.jsonl") + "'"));
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const auto a = ReadStepMetrics(d / "full_0.jsonl");
  ASSERT_EQ(a.size(), 20u);
  struct L {
    int dp, tp, pp;
  };
  for (L l : {L{1, 1, 2}, L{4, 1, 1}}) {
    const std::string tag = std::to_string(l.dp) + std::to_string(l.tp) + std::to_string(l.pp);
    auto r = RunShell(Job(d, l.dp, l.tp, l.pp,
                          "checkpoint.dir=" + (d / ("r" + tag)) + " checkpoint.resume=" + (d / "a/step_00000010") +
                              " 'train.metrics_file=" + (d / ("r" + tag + "_{rank}.jsonl")) + "'"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto b = ReadStepMetrics(d / ("r" + tag + "_0.jsonl"));
    ASSERT_EQ(b.size(), 10u) << r.output;
    for (size_t i = 0; i < b.size(); ++i) {
      EXPECT_NEAR(b[i].loss, a[10 + i].loss, 1e-5 * a[10 + i].loss) << "layout " << tag << " step " << b[i].step;
    }
  }
}

}  // namespace
}  // namespace ogai
