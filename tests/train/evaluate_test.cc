// train/evaluate: the validation loss of a model over a loader's first batches.
#include "train/evaluate.h"

#include <cmath>
#include <tuple>

#include <gtest/gtest.h>

#include "core/rng.h"

namespace ogai::train {
namespace {

std::shared_ptr<data::TokenSource> Tokens(int64_t n, uint64_t seed) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  SplitMix64 rng(seed);
  for (auto& x : t) x = static_cast<int32_t>(rng.Next() % 256);
  return data::TokenSource::FromTokens(std::move(t));
}

TEST(Evaluate, UntrainedModelScoresNearUniformAndRepeatsExactly) {
  ModelConfig mc;
  mc.seq_len = 32;
  auto model = model::GPT::Create(mc, model::ModelLayout{}).value();
  model->Init(7);
  auto loader = data::DataLoader::Create(Tokens(20000, 3), mc.seq_len, 11).value();
  EvalOptions o;
  o.batches = 3;
  o.global_batch = 4;
  o.micro_batch = 2;
  auto a = EvaluateLoss(*model, *loader, o).value();
  EXPECT_EQ(a.tokens, 3 * 4 * 32);
  // Small init: logits near zero, so the loss is near ln(256).
  EXPECT_NEAR(a.loss, std::log(256.0), 0.05);
  auto b = EvaluateLoss(*model, *loader, o).value();
  EXPECT_EQ(a.loss, b.loss);
  // The same samples in one micro-batch of 4 give the same mean (to float rounding).
  o.micro_batch = 4;
  auto c = EvaluateLoss(*model, *loader, o).value();
  EXPECT_NEAR(a.loss, c.loss, 1e-5);
}

// The bytes behind the evaluated targets: every target of the evaluated samples looked up in
// the table once, the same on every DP rank and micro-batch size; bits per byte from them.
TEST(Evaluate, CountsTheBytesOfTheEvaluatedTargetsOnEveryRank) {
  ModelConfig mc;
  mc.seq_len = 16;
  auto model = model::GPT::Create(mc, model::ModelLayout{}).value();
  model->Init(3);
  auto loader = data::DataLoader::Create(Tokens(8000, 5), mc.seq_len, 9).value();
  std::vector<int32_t> table(256);
  for (int t = 0; t < 256; ++t) table[static_cast<size_t>(t)] = t % 4;  // 0..3 bytes
  const int batches = 2, global = 4;
  std::vector<int32_t> in(static_cast<size_t>(batches) * global * mc.seq_len), tg(in.size());
  loader->GetSamples(0, batches * global, in.data(), tg.data());
  int64_t want = 0;
  for (int32_t t : tg) want += t % 4;
  EvalOptions o;
  o.batches = batches;
  o.global_batch = global;
  o.token_bytes = &table;
  for (auto [micro, dp, rank] : {std::tuple{1, 1, 0}, {4, 1, 0}, {2, 2, 1}}) {
    o.micro_batch = micro;
    o.dp_size = dp;
    o.dp_rank = rank;
    auto r = EvaluateLoss(*model, *loader, o).value();
    EXPECT_EQ(r.bytes, want) << "micro " << micro << " dp " << dp << " rank " << rank;
    EXPECT_NEAR(r.bits_per_byte(), r.loss * static_cast<double>(r.tokens) / (static_cast<double>(want) * std::log(2.0)),
                1e-12);
  }
  o.token_bytes = nullptr;
  o.micro_batch = 1;
  o.dp_size = 1;
  o.dp_rank = 0;
  auto none = EvaluateLoss(*model, *loader, o).value();
  EXPECT_EQ(none.bytes, 0);
  EXPECT_TRUE(std::isnan(none.bits_per_byte()));
}

TEST(Evaluate, RefusesABatchThatDoesNotSplit) {
  ModelConfig mc;
  mc.seq_len = 16;
  auto model = model::GPT::Create(mc, model::ModelLayout{}).value();
  auto loader = data::DataLoader::Create(Tokens(4000, 1), mc.seq_len, 1).value();
  EvalOptions o;
  o.global_batch = 3;
  o.micro_batch = 2;
  auto r = EvaluateLoss(*model, *loader, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("multiple of micro_batch"), std::string::npos);
}

}  // namespace
}  // namespace ogai::train
