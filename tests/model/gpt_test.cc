#include "model/gpt.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

namespace ogai::model {
namespace {

ModelConfig Tiny() {
  ModelConfig m;
  m.layers = 2;
  m.heads = 2;
  m.d_model = 16;
  m.vocab = 32;
  m.seq_len = 8;
  m.init_std = 0.2;  // larger weights make every gradient path visible to finite differences
  return m;
}

TEST(GPT, ParameterCountMatchesGpt2Small) {
  ModelConfig m;
  m.layers = 12;
  m.heads = 12;
  m.d_model = 768;
  m.vocab = 50304;
  m.seq_len = 1024;
  EXPECT_EQ(GPT::DenseParamCount(m), 124475904);  // nanoGPT's figure for this config
  ModelConfig t = Tiny();
  auto g = GPT::Create(t, {});
  ASSERT_TRUE(g.ok());
  int64_t sum = 0;
  for (const auto& p : (*g)->params()) sum += p.numel;
  EXPECT_EQ(sum, GPT::DenseParamCount(t));
}

TEST(GPT, WholeModelGradientMatchesFiniteDifferences) {
  ModelConfig cfg = Tiny();
  auto gm = GPT::Create(cfg, {});
  ASSERT_TRUE(gm.ok());
  GPT& g = **gm;
  g.Init(7);
  // Give biases and LayerNorm parameters non-trivial values too.
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 0.1f);
  for (const auto& p : g.params())
    if (p.name.find(".b") != std::string::npos || p.name.find("ln") != std::string::npos)
      for (int64_t i = 0; i < p.numel; ++i) g.param_data()[p.offset + i] += nd(rng);
  const int B = 2;
  const int64_t BT = B * cfg.seq_len;
  std::vector<int32_t> tok(BT), tgt(BT);
  for (int64_t i = 0; i < BT; ++i) {
    tok[i] = static_cast<int32_t>((i * 7 + 3) % cfg.vocab);
    tgt[i] = static_cast<int32_t>((i * 5 + 1) % cfg.vocab);
  }
  auto acts = g.NewActivations(B);
  g.ZeroGrads();
  double loss_sum = 0;
  ASSERT_TRUE(g.Forward(*acts, tok.data(), nullptr, tgt.data(), 1.0f / BT, &loss_sum).ok());
  ASSERT_TRUE(g.Backward(*acts, nullptr, nullptr).ok());
  std::vector<float> analytic(g.grad_data(), g.grad_data() + g.num_local_params());

  auto loss_at = [&]() {
    double s = 0;
    EXPECT_TRUE(g.Forward(*acts, tok.data(), nullptr, tgt.data(), 0.0f, &s).ok());
    return s / BT;
  };
  int checked = 0, bad = 0;
  for (const auto& p : g.params()) {
    // A few elements of every tensor.
    for (int64_t j : {int64_t{0}, p.numel / 2, p.numel - 1}) {
      float* w = g.param_data() + p.offset + j;
      const float w0 = *w;
      const float eps = 1e-2f;
      *w = w0 + eps;
      const double lp = loss_at();
      *w = w0 - eps;
      const double lm = loss_at();
      *w = w0;
      const double fd = (lp - lm) / (2.0 * eps);
      const double an = analytic[p.offset + j];
      const double tol = 2e-2 * std::max(std::fabs(fd), std::fabs(an)) + 2e-4;
      ++checked;
      if (std::fabs(fd - an) > tol) {
        ++bad;
        ADD_FAILURE() << p.name << "[" << j << "]: finite difference " << fd << " vs backward " << an;
      }
    }
  }
  EXPECT_EQ(bad, 0);
  EXPECT_GE(checked, 3 * 20);
}

// With the default GEMM backend (onednn-panels) every kernel of a step has fixed reduction
// orders, so the loss and every gradient are the same bits with 1 and 3 threads. The model is
// wide enough for the GEMMs to be cut into several panels (fc 512 and head 768 columns).
TEST(GPT, GradientsDoNotDependOnTheThreadCount) {
  ModelConfig cfg;
  cfg.layers = 2;
  cfg.heads = 4;
  cfg.d_model = 128;
  cfg.vocab = 768;
  cfg.seq_len = 32;
  auto gm = GPT::Create(cfg, {});
  ASSERT_TRUE(gm.ok());
  GPT& g = **gm;
  g.Init(9);
  const int B = 3;
  const int64_t BT = B * cfg.seq_len;
  std::vector<int32_t> tok(BT), tgt(BT);
  for (int64_t i = 0; i < BT; ++i) {
    tok[i] = static_cast<int32_t>((i * 11 + 5) % cfg.vocab);
    tgt[i] = static_cast<int32_t>((i * 13 + 2) % cfg.vocab);
  }
  auto run = [&](int threads, double* loss) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    auto acts = g.NewActivations(B);
    EXPECT_TRUE(g.Forward(*acts, tok.data(), nullptr, tgt.data(), 1.0f / BT, loss).ok());
    EXPECT_TRUE(g.Backward(*acts, nullptr, nullptr, /*overwrite_grads=*/true).ok());
    omp_set_num_threads(saved);
    return std::vector<float>(g.grad_data(), g.grad_data() + g.num_local_params());
  };
  double loss1 = 0, loss3 = 0;
  const std::vector<float> one = run(1, &loss1), three = run(3, &loss3);
  EXPECT_EQ(loss1, loss3);
  size_t differ = 0;
  for (size_t i = 0; i < one.size(); ++i) differ += one[i] != three[i];
  EXPECT_EQ(differ, 0u) << "of " << one.size() << " gradient elements";
}

TEST(GPT, OverwritingBackwardEqualsClearThenAccumulate) {
  // The first micro-batch of a step writes gradients afresh instead of adding to cleared
  // ones; on every layout part (dense, first stage without head, last stage without
  // embedding) the result must be the same bits, whatever the buffer held before; also with
  // full recompute (the chunked head writes wte's gradient in vocabulary chunks).
  ModelConfig cfg = Tiny();
  struct Part {
    bool first, last;
    Recompute recompute;
  };
  for (Part part :
       {Part{true, true, Recompute::kNone}, Part{true, false, Recompute::kNone}, Part{false, true, Recompute::kNone},
        Part{true, true, Recompute::kFull}, Part{false, true, Recompute::kFull}}) {
    ModelLayout l;
    l.first_stage = part.first;
    l.last_stage = part.last;
    auto a = GPT::Create(cfg, l);
    auto b = GPT::Create(cfg, l);
    ASSERT_TRUE(a.ok() && b.ok());
    (*a)->Init(5);
    (*b)->Init(5);
    for (auto* g : {&*a, &*b}) {
      (*g)->set_recompute(part.recompute);
      (*g)->set_head_chunk_rows(5);
    }
    const int B = 2;
    const int64_t BT = B * cfg.seq_len;
    std::vector<int32_t> tok(BT), tgt(BT);
    for (int64_t i = 0; i < BT; ++i) {
      tok[i] = static_cast<int32_t>((i * 11 + 1) % cfg.vocab);
      tgt[i] = static_cast<int32_t>((i * 3 + 2) % cfg.vocab);
    }
    std::vector<float> input(BT * cfg.d_model), dout(BT * cfg.d_model), din(BT * cfg.d_model);
    for (size_t i = 0; i < input.size(); ++i) {
      input[i] = 0.01f * static_cast<float>(static_cast<int>(i % 97) - 48);
      dout[i] = 0.001f * static_cast<float>(static_cast<int>(i % 89) - 44);
    }
    auto run = [&](GPT& g, bool overwrite) {
      auto acts = g.NewActivations(B);
      double s = 0;
      EXPECT_TRUE(g.Forward(*acts, tok.data(), input.data(), tgt.data(), part.last ? 1.0f / BT : 0.0f, &s).ok());
      EXPECT_TRUE(
          g.Backward(*acts, part.last ? nullptr : dout.data(), part.first ? nullptr : din.data(), overwrite).ok());
    };
    (*a)->ZeroGrads();
    run(**a, false);
    for (int64_t i = 0; i < (*b)->num_local_params(); ++i) (*b)->grad_data()[i] = 1e3f;  // stale
    run(**b, true);
    for (const auto& p : (*a)->params()) {
      for (int64_t i = 0; i < p.numel; ++i) {
        ASSERT_EQ((*a)->grad_data()[p.offset + i], (*b)->grad_data()[p.offset + i])
            << p.name << "[" << i << "] first=" << part.first << " last=" << part.last;
      }
    }
  }
}

TEST(GPT, TensorParallelShardsStartAsSlicesOfTheDenseModel) {
  ModelConfig cfg = Tiny();
  auto dense = GPT::Create(cfg, {});
  ASSERT_TRUE(dense.ok());
  (*dense)->Init(11);
  for (int r = 0; r < 2; ++r) {
    ModelLayout l;
    l.tp_rank = r;
    l.tp_size = 2;
    auto shard = GPT::Create(cfg, l);
    ASSERT_TRUE(shard.ok());
    (*shard)->Init(11);
    for (const auto& sp : (*shard)->params()) {
      const ParamSpec* dp = (*dense)->FindParam(sp.name);
      ASSERT_NE(dp, nullptr);
      const int64_t rows = sp.local_shape[0];
      const int64_t cols = sp.local_shape.size() > 1 ? sp.local_shape[1] : 1;
      const int64_t gcols = sp.global_shape.size() > 1 ? sp.global_shape[1] : 1;
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          const int64_t gi = sp.shard_dim == 0 ? i + sp.shard_begin : i;
          const int64_t gj = sp.shard_dim == 1 ? j + sp.shard_begin : j;
          ASSERT_EQ((*shard)->param_data()[sp.offset + i * cols + j],
                    (*dense)->param_data()[dp->offset + gi * gcols + gj])
              << sp.name;
        }
    }
  }
}

TEST(GPT, RejectsLayoutsThatDoNotDivide) {
  ModelConfig cfg = Tiny();
  ModelLayout l;
  l.tp_size = 3;
  auto r = GPT::Create(cfg, l);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not divisible by parallel.tp"), std::string::npos);
}

}  // namespace
}  // namespace ogai::model

namespace ogai::model {
namespace {

// Activation recompute. Selective reruns the blocks' elementwise kernels in the same order: the
// loss and every gradient are bit-identical to keeping all activations. Full also reruns the
// blocks' forward (bit-identical too) and chunks the head: the loss and the gradient of the
// logits come from the same kernels, but dlnf is summed over vocabulary chunks, so gradients
// upstream of the head equal none's within fp32 rounding, and are the same bits run to run.
// Each mode holds fewer activation bytes than the one before.
struct RecomputeOut {
  double loss = 0;
  std::vector<float> grads;
  int64_t act_bytes = 0;
  bool ok = true;  // false: the precision is not available here
};

// Two accumulating micro-batches (as the trainer runs them) of the 4-layer tiny model at seq 70
// (more than one attention tile). head_rows: the chunked head's rows per chunk (0: default).
RecomputeOut RunRecompute(Recompute r, int head_rows = 0, Precision precision = Precision::kFp32) {
  ModelConfig cfg = Tiny();
  cfg.layers = 4;
  cfg.seq_len = 70;
  const int B = 2;
  const int64_t BT = B * cfg.seq_len;
  std::vector<int32_t> tok(BT), tgt(BT);
  for (int64_t i = 0; i < BT; ++i) {
    tok[i] = static_cast<int32_t>((i * 7 + 3) % cfg.vocab);
    tgt[i] = static_cast<int32_t>((i * 5 + 1) % cfg.vocab);
  }
  RecomputeOut o;
  auto gm = GPT::Create(cfg, {});
  EXPECT_TRUE(gm.ok());
  GPT& g = **gm;
  g.Init(11);
  if (!g.SetPrecision(precision).ok()) {
    o.ok = false;
    return o;
  }
  g.set_recompute(r);
  if (head_rows > 0) g.set_head_chunk_rows(head_rows);
  const int64_t before = GetMemStats()[MemCategory::kActivations].current;
  auto acts = g.NewActivations(B);
  o.act_bytes = GetMemStats()[MemCategory::kActivations].current - before;
  for (int micro = 0; micro < 2; ++micro) {
    double s = 0;
    EXPECT_TRUE(g.Forward(*acts, tok.data(), nullptr, tgt.data(), 1.0f / BT, &s).ok());
    EXPECT_TRUE(g.Backward(*acts, nullptr, nullptr, micro == 0).ok());
    o.loss += s;
  }
  EXPECT_EQ(g.Logits(*acts) == nullptr, r == Recompute::kFull);
  o.grads.assign(g.grad_data(), g.grad_data() + g.num_local_params());
  return o;
}

// `full` equals `none` within fp32 rounding, and does not have the same bits (the chunked path
// ran); returns the number of elements beyond the tolerance.
int ExpectCloseButChunked(const RecomputeOut& none, const RecomputeOut& full, const std::string& what) {
  double gmax = 0;
  for (float x : none.grads) gmax = std::max(gmax, static_cast<double>(std::fabs(x)));
  EXPECT_GT(gmax, 0.0);
  EXPECT_NEAR(full.loss, none.loss, 1e-6 * std::fabs(none.loss)) << what;
  EXPECT_EQ(full.grads.size(), none.grads.size());
  int bad = 0, differ = 0;
  for (size_t i = 0; i < none.grads.size() && i < full.grads.size(); ++i) {
    const double a = none.grads[i], b = full.grads[i];
    differ += a != b;
    if (std::fabs(a - b) > 1e-6 * gmax + 1e-4 * std::fabs(a) && bad++ < 5) {
      ADD_FAILURE() << what << ", gradient element " << i << ": " << b << " vs none " << a;
    }
  }
  // The chunked head really sums in chunks (if nothing differed, this would not check it).
  EXPECT_GT(differ, 0) << what;
  return bad;
}

TEST(GPT, RecomputeGivesTheSameGradientsWithLessActivationMemory) {
  using Out = RecomputeOut;
  auto run = [](Recompute r, int head_rows = 0) { return RunRecompute(r, head_rows); };
  const Out none = run(Recompute::kNone), sel = run(Recompute::kSelective);
  // BT = 140, vocab 32 (model/head.cc): the default 128-row chunk gives row chunks 128 + 12 and
  // vocabulary chunks 29 + 3; 9 rows give 15 row chunks of 9 and one of 5, and 16 vocabulary
  // chunks of 2.
  const Out full = run(Recompute::kFull), full_again = run(Recompute::kFull), full9 = run(Recompute::kFull, 9);
  EXPECT_EQ(none.loss, sel.loss);
  ASSERT_EQ(none.grads.size(), sel.grads.size());
  ASSERT_EQ(none.grads.size(), full_again.grads.size());
  for (size_t i = 0; i < none.grads.size(); ++i) {
    ASSERT_EQ(none.grads[i], sel.grads[i]) << "selective, gradient element " << i;
    ASSERT_EQ(full.grads[i], full_again.grads[i]) << "full, run to run, gradient element " << i;
  }
  EXPECT_EQ(ExpectCloseButChunked(none, full, "full (default chunk)"), 0);
  EXPECT_EQ(ExpectCloseButChunked(none, full9, "full (9-row chunks)"), 0);
  EXPECT_LT(sel.act_bytes, none.act_bytes);
  EXPECT_LT(full.act_bytes, sel.act_bytes);
  EXPECT_LT(full9.act_bytes, full.act_bytes);
}

// bf16 precision: the chunked head's GEMMs on slices of the bf16 weight copy.
TEST(GPT, FullRecomputeInBf16MatchesNone) {
  const RecomputeOut none = RunRecompute(Recompute::kNone, 0, Precision::kBf16);
  if (!none.ok) GTEST_SKIP() << "bf16 GEMMs are not available on this CPU";
  const RecomputeOut full = RunRecompute(Recompute::kFull, 9, Precision::kBf16);
  EXPECT_EQ(ExpectCloseButChunked(none, full, "bf16 full (9-row chunks)"), 0);
}

}  // namespace
}  // namespace ogai::model
