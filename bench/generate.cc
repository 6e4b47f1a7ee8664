// ogai-bench generate: text generation speed with the KV cache against recomputing the
// whole prefix for every token, in the same run, at batch 1 and batch 8 (GPT-2 124M shapes
// by default: 12 layers, 12 heads, d_model 768, vocab 50304, context 1024; random weights,
// which cost the same as trained ones).
//
//   kv_tokens_per_s_bN        tokens/s of a whole N-token generation with the KV cache (one
//                             token per sequence per step; batch N counts N tokens per step)
//   kv_ms_per_step_at_N       the KV cache's step time at position N (median of the last 8 steps)
//   recompute_ms_per_step_at_N  one forward pass over the N-token prefix (the training forward,
//                             every position's logits), what recomputation pays for token N+1
//   ratio_at_N                recompute / kv step time at position N (batch 1 and batch 8)
//   recompute_tokens_per_s_b1  tokens/s recomputation would reach over the N-token generation
//                             at batch 1, from forward passes timed at 4 prefix lengths (the
//                             cost grows about linearly with the prefix; trapezoid rule)
// A whole recomputed 256-token generation of GPT-2 124M on a small CPU takes tens of minutes,
// which is why it is sampled, not run.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/command.h"
#include "bench/stats.h"
#include "core/clock.h"
#include "core/log.h"
#include "model/gpt.h"
#include "model/kv_decode.h"
#include "model/sampling.h"

namespace ogai::bench {
namespace {

constexpr const char* kUsage =
    "usage: ogai-bench generate [--json] [--tokens N] [--layers L] [--d-model C] [--heads H] [--vocab V]\n"
    "  --tokens N   tokens generated per sequence; the ratio is reported at N (default 256)\n"
    "  shape flags  default GPT-2 124M: 12 layers, d_model 768, 12 heads, vocab 50304\n";

struct Figures {
  double kv_tps = 0, kv_step_ms = 0, re_step_ms = 0, re_tps = 0;
};

Result<Figures> Measure(model::GPT& m, int batch, int n) {
  Figures f;
  const int V = m.config().vocab;
  OGAI_ASSIGN_OR_RETURN(model::KvDecoder dec, model::KvDecoder::Create(&m, batch));
  std::vector<float> lg(static_cast<size_t>(batch) * V);
  std::vector<int32_t> tok(batch);
  for (int b = 0; b < batch; ++b) tok[b] = 100 + b;
  std::vector<std::vector<int32_t>> seqs(batch);
  const model::SamplingOptions greedy{0.0, 0, 1.0, 0};
  // A short warm-up first: oneDNN builds its kernels for each new GEMM shape on first use.
  for (int i = 0; i < 4; ++i) OGAI_RETURN_IF_ERROR(dec.Step(tok.data(), lg.data()));
  dec.Reset();
  const double t0 = Now();
  std::vector<double> tail;  // the last 8 steps' times
  for (int i = 0; i < n; ++i) {
    const double s = Now();
    OGAI_RETURN_IF_ERROR(dec.Step(tok.data(), lg.data()));
    if (i >= n - 8) tail.push_back(Now() - s);
    for (int b = 0; b < batch; ++b) {
      seqs[b].push_back(tok[b]);
      tok[b] = model::SampleToken(lg.data() + static_cast<size_t>(b) * V, V, greedy, i);
    }
  }
  const double kv_s = Now() - t0;
  f.kv_tps = static_cast<double>(batch) * n / kv_s;
  f.kv_step_ms = Median(tail) * 1e3;
  // Recomputation: one forward over the prefix, each length run twice (the faster counts: the
  // first builds the kernels for the shape). At 4 lengths up to n at batch 1; at n alone at
  // batch > 1 (its generation-wide figure is then not estimated).
  std::vector<int> lens;
  if (batch == 1) {
    for (int k = 1; k <= 4; ++k) lens.push_back(std::max(1, n * k / 4));
  } else {
    lens.push_back(n);
  }
  std::vector<double> ms;
  std::vector<float> out;
  for (int len : lens) {
    std::vector<int32_t> toks;
    for (int b = 0; b < batch; ++b) toks.insert(toks.end(), seqs[b].begin(), seqs[b].begin() + len);
    double t = 1e300;
    for (int rep = 0; rep < 2; ++rep) {
      const double s = Now();
      OGAI_RETURN_IF_ERROR(model::FullForwardLogits(m, toks.data(), batch, len, &out));
      t = std::min(t, (Now() - s) * 1e3);
    }
    ms.push_back(t);
  }
  f.re_step_ms = ms.back();
  // Total time of recomputing every prefix 1..n: trapezoid over the sampled lengths (from 0).
  double total_ms = 0, prev_len = 0, prev_ms = 0;
  for (size_t i = 0; i < lens.size(); ++i) {
    total_ms += (lens[i] - prev_len) * (ms[i] + prev_ms) / 2;
    prev_len = lens[i];
    prev_ms = ms[i];
  }
  f.re_tps = batch == 1 ? static_cast<double>(batch) * n / (total_ms / 1e3) : 0;
  return f;
}

int RunGenerate(int argc, char** argv) {
  bool json = false;
  int n = 256;
  ModelConfig c;
  c.layers = 12;
  c.heads = 12;
  c.d_model = 768;
  c.vocab = 50304;
  c.seq_len = 1024;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--json") {
      json = true;
    } else if (a == "--tokens") {
      n = next();
    } else if (a == "--layers") {
      c.layers = next();
    } else if (a == "--d-model") {
      c.d_model = next();
    } else if (a == "--heads") {
      c.heads = next();
    } else if (a == "--vocab") {
      c.vocab = next();
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (n < 8 || n > c.seq_len) {
    std::fprintf(stderr, "ogai-bench generate: --tokens must be in 8..%d\n", c.seq_len);
    return 2;
  }
  auto m = model::GPT::Create(c, {});
  if (!m.ok()) {
    std::fprintf(stderr, "ogai-bench generate: %s\n", m.status().ToString().c_str());
    return 1;
  }
  (*m)->Init(1);
  std::string js =
      "{\"tokens\": " + std::to_string(n) + ", \"params\": " + std::to_string(model::GPT::DenseParamCount(c));
  for (int batch : {1, 8}) {
    auto f = Measure(**m, batch, n);
    if (!f.ok()) {
      std::fprintf(stderr, "ogai-bench generate: %s\n", f.status().ToString().c_str());
      return 1;
    }
    const std::string b = std::to_string(batch), at = std::to_string(n);
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  ", \"kv_tokens_per_s_b%s\": %.2f, \"kv_ms_per_step_at_%s_b%s\": %.2f, "
                  "\"recompute_ms_per_step_at_%s_b%s\": %.1f, \"ratio_at_%s_b%s\": %.1f",
                  b.c_str(), f->kv_tps, at.c_str(), b.c_str(), f->kv_step_ms, at.c_str(), b.c_str(), f->re_step_ms,
                  at.c_str(), b.c_str(), f->re_step_ms / f->kv_step_ms);
    js += buf;
    if (batch == 1) {
      std::snprintf(buf, sizeof(buf), ", \"recompute_tokens_per_s_b1\": %.3f", f->re_tps);
    } else {
      buf[0] = '\0';
    }
    js += buf;
    if (!json) {
      std::snprintf(buf, sizeof(buf),
                    "batch %d: KV cache %.1f tok/s over %d tokens; at position %d: KV step %.1f ms, recompute %.0f ms "
                    "(x%.1f); recompute over the whole generation ~%.2f tok/s (batch 1 only)",
                    batch, f->kv_tps, n, n, f->kv_step_ms, f->re_step_ms, f->re_step_ms / f->kv_step_ms, f->re_tps);
      Print(buf);
    }
  }
  if (json) Print(js + "}");
  return 0;
}

Command reg("generate", "text generation: KV cache vs recomputing the prefix, batch 1 and 8", &RunGenerate);

}  // namespace
}  // namespace ogai::bench
