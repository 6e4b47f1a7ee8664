// The text a run reports: the console step line and the metrics file's step records, which
// jobs, tests and benchmarks parse.
#include "train/metrics.h"

#include <fstream>

#include <gtest/gtest.h>

#include "tests/util/job.h"

namespace ogai::train {
namespace {

TEST(Metrics, HumanRateScalesWithSiPrefixes) {
  EXPECT_EQ(HumanRate(52.65, "tok/s"), "52.65 tok/s");
  EXPECT_EQ(HumanRate(1234.0, "tok/s"), "1.23 Ktok/s");
  EXPECT_EQ(HumanRate(3.42e9, "FLOP/s"), "3.42 GFLOP/s");
  EXPECT_EQ(HumanRate(2e18, "FLOP/s"), "2000.00 PFLOP/s");
}

TEST(Metrics, StepLinePadsTheStepToTheWidthOfTrainSteps) {
  StepStats s;
  s.step = 10;
  s.loss = 3.72291;
  s.lr = 2e-3;
  s.grad_norm = 4.4061;
  s.seconds = 0.4149;
  s.tokens_per_s = 1234.0;
  s.model_flops_per_s = 3.42e9;
  EXPECT_EQ(StepLine(s, 150),
            "step  10/150 | loss 3.7229 | lr 2.00e-03 | grad norm 4.406 | 414.9 ms | 1.23 Ktok/s | 3.42 GFLOP/s");
}

TEST(Metrics, StepLineEndsWithElapsedTimeAndAnEta) {
  StepStats s;
  s.step = 10;
  s.loss = 3.72291;
  s.lr = 2e-3;
  s.grad_norm = 4.4061;
  s.seconds = 0.4149;
  s.tokens_per_s = 1234.0;
  s.model_flops_per_s = 3.42e9;
  EXPECT_EQ(StepLine(s, 150, 4.15, 58.1),
            "step  10/150 | loss 3.7229 | lr 2.00e-03 | grad norm 4.406 | 414.9 ms | 1.23 Ktok/s | 3.42 GFLOP/s"
            " | 4.2s elapsed, eta 58.1s");
  EXPECT_EQ(HumanDuration(725), "12m05s");
  EXPECT_EQ(HumanDuration(3 * 3600 + 7 * 60 + 10), "3h07m");
}

TEST(Metrics, ResumeLineSaysWhereFromAndWhetherItWasResharded) {
  ResumeInfo r;
  r.step = 150;
  r.path = "ck/step_00000150";
  r.files = 2;
  r.load_s = 0.0123;
  r.saved_dp = 2;
  r.saved_tp = 1;
  r.saved_pp = 1;
  r.saved_steps = 150;
  parallel::ParallelLayout now;
  now.dp = 1;
  now.tp = 2;
  now.pp = 1;
  EXPECT_EQ(ResumeLine(r, now),
            "resumed from ck/step_00000150 at step 150 (saved at dp 2 x tp 1 x pp 1, resharded to dp 1 x tp 2 x pp 1; "
            "2 shard files from disk in 12 ms)");
  now.dp = 2;
  now.tp = 1;
  EXPECT_NE(ResumeLine(r, now).find("the same layout, not resharded"), std::string::npos);
  EXPECT_EQ(ScheduleWarning(r, 150), "");
  EXPECT_NE(ScheduleWarning(r, 160).find("saved by a run of train.steps=150 and this run has train.steps=160"),
            std::string::npos);
  r.saved_steps = 0;  // unknown
  EXPECT_EQ(ScheduleWarning(r, 160), "");
}

TEST(Metrics, ResultsLineNamesTheLastCheckpointAndTheMetricsFile) {
  RunSummary sum;
  EXPECT_EQ(ResultsLine(sum),
            "last checkpoint: none (checkpoint.dir is not set) | metrics: none (train.metrics_file is not set)");
  sum.checkpointing = true;
  sum.metrics_file = "run/m.jsonl";
  EXPECT_EQ(ResultsLine(sum), "last checkpoint: none committed | metrics: run/m.jsonl");
  sum.last_checkpoint = {160, "ck/step_00000160", 0};
  EXPECT_EQ(ResultsLine(sum), "last checkpoint: ck/step_00000160 (step 160) | metrics: run/m.jsonl");
}

TEST(Metrics, CheckpointRecordsAreWrittenOncePerCommitAndRunInfoIsJson) {
  ogai::testing::TempDir d("ogai_metrics_ckpt");
  {
    auto f = MetricsFile::Open(d / "m.jsonl", 0, 0);
    ASSERT_TRUE(f.ok());
    (*f)->WriteRunInfo("train:\n  steps: 5\n  note: \"quoted\"\n",
                       HardwareInfo{"host", "cpu", 2, 4, 1 << 20, "onednn"});
    (*f)->WriteCheckpoint(CommitInfo{});  // none yet
    (*f)->WriteCheckpoint(CommitInfo{5, "ck/step_00000005", 1.5});
    (*f)->WriteCheckpoint(CommitInfo{5, "ck/step_00000005", 1.5});  // the same commit
  }
  std::ifstream in(d / "m.jsonl");
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], R"({"config":{"restart":0,"yaml":"train:\n  steps: 5\n  note: \"quoted\"\n"}})");
  EXPECT_EQ(
      lines[1],
      R"({"hardware":{"cores":2,"cpu":"cpu","gemm":"onednn","host":"host","memory_bytes":1048576,"online_cores":4,)"
      R"("restart":0}})");
  EXPECT_EQ(lines[2], R"({"checkpoint":{"path":"ck/step_00000005","restart":0,"step":5,"unix_ms":1.5}})");
}

TEST(Metrics, FileHasOneParsableLinePerStepAndAppendsOnRestart) {
  ogai::testing::TempDir d("ogai_metrics_test");
  const std::string pattern = d / "m_{rank}.jsonl";
  StepStats s;
  s.step = 1;
  s.loss = 2.5;
  {
    auto f = MetricsFile::Open(pattern, 3, /*restart=*/0);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    (*f)->WriteStep(s);
  }
  {
    auto f = MetricsFile::Open(pattern, 3, /*restart=*/1);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    s.step = 2;
    (*f)->WriteStep(s);
    (*f)->WritePeerCopy(PeerCopyInfo{2, 100, 1, 0.5});
    (*f)->WritePeerCopy(PeerCopyInfo{2, 100, 1, 0.5});  // not newer: not written again
  }
  const auto steps = ogai::testing::ReadStepMetrics(d / "m_3.jsonl");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].step, 1);
  EXPECT_EQ(steps[1].step, 2);
  EXPECT_EQ(steps[1].loss_bits, "0x1.4p+1");
  const std::string all = ogai::testing::ReadText(d / "m_3.jsonl");
  EXPECT_NE(all.find("\"restart\": 1"), std::string::npos);
  EXPECT_EQ(all.find("peer_copy"), all.rfind("peer_copy"));
}

TEST(Metrics, APatternWithoutRankIsWrittenByRankZeroAlone) {
  EXPECT_TRUE(MetricsFile::WrittenBy("m.jsonl", 0));
  EXPECT_FALSE(MetricsFile::WrittenBy("m.jsonl", 1));
  EXPECT_TRUE(MetricsFile::WrittenBy("m_{rank}.jsonl", 0));
  EXPECT_TRUE(MetricsFile::WrittenBy("m_{rank}.jsonl", 1));
}

// Two ranks given one file name used to write it together: lines ran into each other ("{{").
TEST(Metrics, TwoRanksWithOneFileNameGiveOneCleanLinePerStep) {
  ogai::testing::TempDir d("ogai_metrics_shared");
  const std::string file = d / "m.jsonl";
  auto job = ogai::testing::RunShell(std::string(OGAI_TEST_BUILD_DIR) + "/bin/ogai-run -np 2 " + OGAI_TEST_SOURCE_DIR +
                                     "/examples/tiny.yaml parallel.dp=2 train.steps=40 " +
                                     "'train.metrics_file=" + file + "'");
  ASSERT_EQ(job.exit_code, 0) << job.output;
  std::ifstream in(file);
  std::string line;
  int starts = 0;
  std::vector<int64_t> steps;
  while (std::getline(in, line)) {
    ASSERT_EQ(line.front(), '{') << line;
    ASSERT_EQ(line.find("{{"), std::string::npos) << line;
    ASSERT_EQ(line.back(), '}') << line;
    if (line.rfind("{\"start\"", 0) == 0) ++starts;
  }
  for (const auto& m : ogai::testing::ReadStepMetrics(file)) steps.push_back(m.step);
  EXPECT_EQ(starts, 1);
  ASSERT_EQ(steps.size(), 40u);
  for (int64_t i = 0; i < 40; ++i) EXPECT_EQ(steps[i], i + 1);
}

// The issue's new user: a dp=2 run saves at its last step; the same command with tp=2 and
// more steps resumes. The terminal says so (checkpoint, step, saved layout, resharded), warns
// once that the schedule's length changed, and the summary names the last checkpoint and the
// metrics file, which records each commit.
TEST(Metrics, AResumedRunSaysWhatItResumedAndWhereItsResultsAre) {
  ogai::testing::TempDir d("ogai_metrics_resume");
  const std::string run = std::string(OGAI_TEST_BUILD_DIR) + "/bin/ogai-run -np 2 " + OGAI_TEST_SOURCE_DIR +
                          "/examples/tiny.yaml checkpoint.dir=" + d.path() + "/ck train.metrics_file=" + d.path() +
                          "/m.jsonl ";
  auto first = ogai::testing::RunShell(run + "parallel.dp=2 train.steps=30 checkpoint.every_steps=10");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("last checkpoint: " + d.path() + "/ck/step_00000030 (step 30) | metrics: " + d.path() +
                              "/m.jsonl"),
            std::string::npos)
      << first.output;
  EXPECT_EQ(first.output.find("resumed from"), std::string::npos) << first.output;
  // (a new ogai-run starts the metrics file afresh, so the first run's commits are read now)
  const std::string all = ogai::testing::ReadText(d / "m.jsonl");
  for (int step : {10, 20, 30}) {
    EXPECT_NE(all.find("\"path\":\"" + d.path() + "/ck/step_000000" + std::to_string(step) + "\""), std::string::npos)
        << step;
  }
  EXPECT_NE(all.find("{\"config\":"), std::string::npos);
  EXPECT_NE(all.find("{\"hardware\":"), std::string::npos);
  auto second = ogai::testing::RunShell(run + "parallel.tp=2 train.steps=40");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("resumed from " + d.path() +
                               "/ck/step_00000030 at step 30 (saved at dp 2 x tp 1 x pp 1, resharded to dp 1 x tp 2 x "
                               "pp 1; "),
            std::string::npos)
      << second.output;
  const std::string warn = "saved by a run of train.steps=30 and this run has train.steps=40";
  const size_t at = second.output.find(warn);
  EXPECT_NE(at, std::string::npos) << second.output;
  EXPECT_EQ(second.output.find(warn, at + 1), std::string::npos) << "printed more than once:\n" << second.output;
  EXPECT_NE(second.output.find("last checkpoint: " + d.path() + "/ck/step_00000040 (step 40)"), std::string::npos)
      << second.output;
}

}  // namespace
}  // namespace ogai::train

// Saves paced far below the disk's speed (checkpoint.write_mb_per_s=1) cannot commit within
// the 10 steps between them: each one commits while the next Save waits for it, and at the
// last step two commit between the same two metrics lines. Each still gets its own line.
TEST(Metrics, EveryCommitGetsItsLineEvenWhenTwoLandBetweenSteps) {
  ogai::testing::TempDir d("ogai_metrics_commits");
  const std::string cmd = std::string(OGAI_TEST_BUILD_DIR) + "/bin/ogai-run -np 1 " + OGAI_TEST_SOURCE_DIR +
                          "/examples/tiny.yaml checkpoint.dir=" + d.path() + "/ck train.metrics_file=" + d.path() +
                          "/m.jsonl train.steps=30 checkpoint.every_steps=10 checkpoint.write_mb_per_s=1";
  auto run = ogai::testing::RunShell(cmd);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string all = ogai::testing::ReadText(d / "m.jsonl");
  size_t prev = 0;
  for (int step : {10, 20, 30}) {
    const size_t at = all.find("\"path\":\"" + d.path() + "/ck/step_000000" + std::to_string(step) + "\"");
    ASSERT_NE(at, std::string::npos) << "no commit line for step " << step << "\n" << all;
    EXPECT_GT(at, prev) << "the commit lines are out of order";
    prev = at;
  }
}
