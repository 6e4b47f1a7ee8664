// train/memory_estimate.h: the per-rank estimate against what the runtime really allocates
// (core/memory.h counts every Buffer by category), and the refusal of layouts that cannot fit.
#include "train/memory_estimate.h"

#include <gtest/gtest.h>

#include "core/memory.h"
#include "model/gpt.h"
#include "train/config.h"

namespace ogai {
namespace {

Config Parse(const std::string& overrides_csv) {
  std::vector<std::string> o;
  size_t b = 0;
  while (b < overrides_csv.size()) {
    size_t e = overrides_csv.find(' ', b);
    if (e == std::string::npos) e = overrides_csv.size();
    if (e > b) o.push_back(overrides_csv.substr(b, e - b));
    b = e + 1;
  }
  auto r = ParseConfig("model:\n  layers: 2\n", "t.yaml", o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Config{};
}

// Parameters, gradients and activations of one dense rank match the model's own buffers
// (within the per-tensor padding the estimate assumes).
TEST(MemoryEstimate, MatchesTheModelsAllocations) {
  for (const char* o : {"model.d_model=64 model.heads=2 train.micro_batch=4",
                        "model.d_model=128 model.heads=4 model.layers=3 model.seq_len=32 train.micro_batch=2",
                        "model.d_model=128 model.heads=4 model.layers=3 train.recompute=selective",
                        "model.d_model=128 model.heads=4 model.layers=3 train.recompute=full"}) {
    Config cfg = Parse(o);
    const MemStats before = GetMemStats();
    auto gpt = model::GPT::Create(cfg.model, model::ModelLayout{});
    ASSERT_TRUE(gpt.ok()) << gpt.status().ToString();
    const std::string& rc = cfg.train.recompute;
    (*gpt)->set_recompute(rc == "full"        ? model::Recompute::kFull
                          : rc == "selective" ? model::Recompute::kSelective
                                              : model::Recompute::kNone);
    auto acts = (*gpt)->NewActivations(cfg.train.micro_batch);
    const MemStats after = GetMemStats();
    const MemoryEstimate e = EstimateRankMemory(cfg);
    const double params = after[MemCategory::kParameters].current - before[MemCategory::kParameters].current;
    const double grads = after[MemCategory::kGradients].current - before[MemCategory::kGradients].current;
    const double act = after[MemCategory::kActivations].current - before[MemCategory::kActivations].current;
    EXPECT_GE(e.parameters, params) << o;
    EXPECT_LE(e.parameters, params * 1.10 + 4096) << o;
    EXPECT_GE(e.gradients, grads) << o;
    // Activations: the estimate also counts the int32 tokens and targets (not in a Buffer).
    EXPECT_GE(e.activations, act) << o;
    EXPECT_LE(e.activations, act * 1.10 + 4096) << o;
    EXPECT_DOUBLE_EQ(e.optimizer, 2 * e.parameters);
    // The demo corpus: a byte per token as text, four as int32 tokens.
    EXPECT_GE(e.data, 5.0 * cfg.data.demo_tokens);
  }
}

// GPT-2 124M at micro-batch 1, seq 1024: full recompute keeps each block's input and a 128-row
// chunk of the logits instead of all 1024 rows; the accounted activations fall at least 3x.
TEST(MemoryEstimate, FullRecomputeKeepsAThirdOfTheActivations) {
  const std::string gpt2 =
      "model.layers=12 model.heads=12 model.d_model=768 model.vocab=50304 model.seq_len=1024 train.micro_batch=1";
  const double none = EstimateRankMemory(Parse(gpt2)).activations;
  const double sel = EstimateRankMemory(Parse(gpt2 + " train.recompute=selective")).activations;
  const double full = EstimateRankMemory(Parse(gpt2 + " train.recompute=full")).activations;
  EXPECT_LT(sel, none);
  EXPECT_LT(3 * full, none) << "none " << none / (1 << 20) << " MiB, full " << full / (1 << 20) << " MiB";
}

TEST(MemoryEstimate, LayoutDividesTheModel) {
  const Config dense = Parse("model.d_model=256 model.heads=4 model.layers=4");
  const Config tp2 = Parse("model.d_model=256 model.heads=4 model.layers=4 parallel.tp=2");
  const Config pp2 = Parse("model.d_model=256 model.heads=4 model.layers=4 parallel.pp=2");
  const Config zero = Parse("model.d_model=256 model.heads=4 model.layers=4 parallel.dp=4 parallel.zero=1");
  const MemoryEstimate d = EstimateRankMemory(dense);
  EXPECT_LT(EstimateRankMemory(tp2).parameters, 0.6 * d.parameters);
  EXPECT_LT(EstimateRankMemory(pp2).parameters, 0.75 * d.parameters);
  EXPECT_DOUBLE_EQ(EstimateRankMemory(zero).optimizer, d.optimizer / 4);
  // 1F1B keeps pp micro-batches on the first stage: it is the worst stage for activations.
  const Config pp4 = Parse("model.layers=4 parallel.pp=4 train.grad_accum=8");
  EXPECT_GT(EstimateStageMemory(pp4, 0).activations, 3 * EstimateStageMemory(pp4, 3).activations / 2);
}

TEST(MemoryEstimate, RefusesWhatDoesNotFitWithTheNumbersAndAFix) {
  // 8 x 1 GiB of fp32 parameters + gradients + Adam: about 16 GiB per rank dense.
  const Config cfg = Parse("model.d_model=8192 model.heads=64 model.layers=4 model.vocab=32768 parallel.dp=2");
  const int64_t gib = int64_t{1} << 30;
  EXPECT_TRUE(CheckMemoryFits(cfg, 1, 4096 * gib).ok());
  Status st = CheckMemoryFits(cfg, 2, 8 * gib);
  ASSERT_FALSE(st.ok());
  const std::string& m = st.message();
  EXPECT_NE(m.find("this layout needs "), std::string::npos) << m;
  EXPECT_NE(m.find(" GiB per rank (2 ranks on this node: "), std::string::npos) << m;
  EXPECT_NE(m.find("the node has 8.0 GiB available"), std::string::npos) << m;
  EXPECT_NE(m.find("; try parallel.tp="), std::string::npos) << m;
  // What it suggests fits.
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  // Nothing fits a few MiB: it says to shrink the model.
  st = CheckMemoryFits(cfg, 1, 1 << 20);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("use a smaller model"), std::string::npos) << st.message();
}

TEST(MemoryEstimate, AbsurdSizesGiveHugeNumbersNotWrapped) {
  // The bad_alloc configs, at the schema's limits: the estimate is finite and huge.
  Config cfg = Parse("model.d_model=131072 model.heads=1 model.vocab=16777216 model.layers=4096");
  const MemoryEstimate e = EstimateRankMemory(cfg);
  EXPECT_GT(e.total(), 1e15);
  EXPECT_FALSE(CheckMemoryFits(cfg, 1, int64_t{1} << 40).ok());
  cfg = Parse("data.demo_tokens=10000000000");
  EXPECT_GT(EstimateRankMemory(cfg).data, 4e10);
  EXPECT_FALSE(CheckMemoryFits(cfg, 1, int64_t{16} << 30).ok());
}

TEST(MemoryEstimate, AvailableMemoryIsReadable) {
  const int64_t a = AvailableMemoryBytes();
  EXPECT_GT(a, 0);
  EXPECT_GT(a, ResidentBytes());
}

}  // namespace
}  // namespace ogai
