// Training on a prepared dataset (data.source: dataset): the validation loss is measured
// before training, every train.eval_every steps and at the end, and falls; the dataset id is
// in every checkpoint; a dataset whose vocabulary exceeds model.vocab is refused, and one
// without validation documents is refused for a run that evaluates.
#include <fstream>

#include <gtest/gtest.h>

#include "ckpt/reader.h"
#include "dataproc/dataset.h"
#include "dataproc/demo_corpus.h"
#include "dataproc/prepare.h"
#include "tests/util/child.h"
#include "tests/util/job.h"
#include "train/trainer.h"

namespace ogai::train {
namespace {

using testing::TempDir;

// A byte-level dataset of the demo corpus's text, cut into documents at blank lines.
std::string MakeDataset(const TempDir& dir, double val_fraction = 0.1) {
  std::string text = data::GenerateDemoCorpus(200000, 3);
  for (size_t i = 400; i < text.size(); i += 400) text.insert(i, "\n\n");
  testing::WriteFile(dir / "corpus.txt", text);
  data::PrepareConfig pc;
  pc.input.paths = {dir / "corpus.txt"};
  pc.input.text_split = "blank_lines";
  pc.gopher_quality.enabled = pc.gopher_repetition.enabled = pc.c4.enabled = false;
  pc.dedup.fuzzy = false;
  pc.tokenize.tokenizer = "byte";
  pc.output.dir = dir / "ds";
  pc.output.val_fraction = val_fraction;
  data::PrepareOptions o;
  o.run_tag = "t";
  o.progress = false;
  auto r = data::RunPrepare(pc, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return pc.output.dir;
}

TEST(DatasetTraining, ValidationLossFallsAndCheckpointsNameTheDataset) {
  TempDir dir("dataset_train");
  const std::string ds = MakeDataset(dir);
  auto cfg = ParseConfig(
      "model: {layers: 2, heads: 2, d_model: 32, vocab: 257, seq_len: 32}\n"
      "data: {source: dataset, dataset: " +
          ds +
          "}\n"
          "train: {steps: 40, micro_batch: 4, lr: 3.0e-3, warmup: 4, seed: 5, eval_every: 20, "
          "eval_batches: 2, metrics_file: " +
          (dir / "m.jsonl") +
          "}\n"
          "checkpoint: {dir: " +
          (dir / "ckpt") + ", async: false}\n",
      "inline.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  TrainerOptions quiet;
  quiet.print = false;
  auto t = Trainer::Create(*cfg, {}, quiet);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  RunSummary sum;
  ASSERT_TRUE((*t)->Run(&sum).ok());
  ASSERT_EQ(sum.evals.size(), 3u);  // steps 0, 20, 40
  EXPECT_EQ(sum.evals[0].first, 0);
  EXPECT_EQ(sum.evals[2].first, 40);
  EXPECT_LT(sum.evals[2].second, 0.8 * sum.evals[0].second);
  t->reset();  // flush the checkpoint writer
  auto ck = ckpt::Checkpoint::Open(dir / "ckpt");
  ASSERT_TRUE(ck.ok()) << ck.status().ToString();
  EXPECT_EQ((*ck)->manifest().dataset_id(), data::OpenDataset(ds).value().id);
  EXPECT_EQ((*ck)->manifest().dataset_id().size(), 32u);
  // The metrics file has the evaluations.
  std::ifstream f(dir / "m.jsonl");
  std::string line;
  int evals = 0;
  while (std::getline(f, line)) evals += line.find("\"val_loss\"") != std::string::npos;
  EXPECT_EQ(evals, 3);
}

// The evaluated windows and the loss do not depend on the layout: dp = 2 and tp = 2 under
// ogai-run give the single process's validation losses (to float rounding).
TEST(DatasetTraining, ValidationLossIsTheSameForEveryLayout) {
  TempDir dir("dataset_layouts");
  const std::string ds = MakeDataset(dir);
  testing::WriteFile(dir / "t.yaml",
                     "model: {layers: 2, heads: 2, d_model: 32, vocab: 258, seq_len: 32}\n"
                     "data: {source: dataset, dataset: " +
                         ds +
                         "}\n"
                         "train: {steps: 6, micro_batch: 2, global_batch: 8, lr: 3.0e-3, seed: 5, "
                         "eval_every: 3, eval_batches: 2}\n");
  std::vector<std::vector<double>> losses;
  for (const char* layout : {"parallel.dp=1", "parallel.dp=2", "parallel.tp=2"}) {
    const std::string np = std::string(layout) == "parallel.dp=1" ? "1" : "2";
    const std::string metrics = dir / ("m" + std::string(layout).substr(9) + ".jsonl");
    auto r = testing::RunChild(
        {testing::BuildDir() + "/bin/ogai-run", "-np", np, dir / "t.yaml", layout, "train.metrics_file=" + metrics},
        300);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::ifstream f(metrics);
    std::string line;
    std::vector<double> v;
    while (std::getline(f, line)) {
      const size_t at = line.find("\"val_loss\": ");
      if (at != std::string::npos) v.push_back(std::stod(line.substr(at + 12)));
    }
    ASSERT_EQ(v.size(), 3u) << layout;  // steps 0, 3, 6
    losses.push_back(v);
  }
  for (size_t k = 1; k < losses.size(); ++k)
    for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(losses[k][i], losses[0][i], 2e-4) << "layout " << k << " eval " << i;
  EXPECT_LT(losses[0][2], losses[0][0]);
}

TEST(DatasetTraining, VocabularyLargerThanTheModelIsRefused) {
  TempDir dir("dataset_vocab");
  const std::string ds = MakeDataset(dir);
  auto cfg = ParseConfig(
      "model: {layers: 1, heads: 2, d_model: 32, vocab: 256, seq_len: 32}\n"
      "data: {source: dataset, dataset: " +
          ds + "}\n",
      "inline.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  auto t = Trainer::Create(*cfg);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("set model.vocab: 257"), std::string::npos) << t.status().message();
}

// A dataset whose split drew no validation document although output.val_fraction > 0: a run
// with train.eval_every is refused with what to change (not "prepare it with
// output.val_fraction > 0", which it was); without evaluation it trains.
TEST(DatasetTraining, NoValidationDocumentsSaysWhatToChange) {
  TempDir dir("dataset_noval");
  const std::string ds = MakeDataset(dir, 1e-6);
  ASSERT_TRUE(data::OpenDataset(ds)->val.empty());
  const std::string base =
      "model: {layers: 1, heads: 2, d_model: 32, vocab: 257, seq_len: 32}\n"
      "data: {source: dataset, dataset: " +
      ds + "}\n";
  auto cfg = ParseConfig(base + "train: {steps: 2, eval_every: 1}\n", "inline.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  auto t = Trainer::Create(*cfg);
  ASSERT_FALSE(t.ok());
  const std::string m = t.status().message();
  EXPECT_NE(m.find("has no validation documents; set train.eval_every=0"), std::string::npos) << m;
  EXPECT_NE(m.find("another output.seed"), std::string::npos) << m;
  cfg = ParseConfig(base + "train: {steps: 2}\n", "inline.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  TrainerOptions quiet;
  quiet.print = false;
  t = Trainer::Create(*cfg, {}, quiet);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  RunSummary sum;
  EXPECT_TRUE((*t)->Run(&sum).ok());
}

}  // namespace
}  // namespace ogai::train
