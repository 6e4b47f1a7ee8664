// The text a run reports: the console step line and the metrics file's step records, which
// jobs, tests and benchmarks parse.
#include "train/metrics.h"

#include <fstream>
#include <sstream>

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
  std::ifstream in(d / "m_3.jsonl");
  std::stringstream all;
  all << in.rdbuf();
  EXPECT_NE(all.str().find("\"restart\": 1"), std::string::npos);
  EXPECT_EQ(all.str().find("peer_copy"), all.str().rfind("peer_copy"));
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

}  // namespace
}  // namespace ogai::train
