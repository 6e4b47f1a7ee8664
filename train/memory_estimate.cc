#include "train/memory_estimate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/memory.h"
#include "parallel/stage_split.h"
#include "train/param_count.h"

namespace ogai {
namespace {

constexpr double kF = 4.0;  // bytes per fp32 element; tokens are int32 too

// Blocks on stage `stage`: parallel.pp_layers when given, else the split by modelled cost
// that parallel/layout.cc uses (parallel/stage_split.h); equal counts if layers < pp (which
// the layout refuses anyway).
double StageBlocks(const Config& cfg, int stage) {
  const auto& p = cfg.parallel;
  if (!p.pp_layers.empty() && stage < static_cast<int>(p.pp_layers.size())) return p.pp_layers[stage];
  const int64_t L = cfg.model.layers, pp = std::max(1, p.pp);
  if (L >= pp && stage < pp) return parallel::CostBalancedLayers(cfg.model, static_cast<int>(pp))[stage];
  return static_cast<double>(L / pp + (stage < L % pp ? 1 : 0));
}

std::string Gib(double bytes) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

}  // namespace

MemoryEstimate EstimateStageMemory(const Config& cfg, int stage) {
  const auto& m = cfg.model;
  const auto& p = cfg.parallel;
  const double tp = std::max(1, p.tp), pp = std::max(1, p.pp), dp = std::max(1, p.dp);
  const double C = m.d_model, T = m.seq_len, V = m.vocab, H = m.heads;
  const double Cl = C / tp, Fl = 4 * C / tp, Vl = V / tp, NHl = H / tp;
  const bool first = stage == 0, last = stage == static_cast<int>(pp) - 1;
  const double blocks = StageBlocks(cfg, stage);

  MemoryEstimate e;
  e.stage = stage;
  // Parameters: model/gpt.cc's count (train/param_count.h), the one the GPU plan uses too.
  const double n =
      static_cast<double>(train::LocalParamElements(m, static_cast<int>(tp), static_cast<int>(blocks), first, last));
  e.parameters = n * kF;
  e.gradients = n * kF;
  e.optimizer = 2 * n * kF / (p.zero >= 1 ? dp : 1.0);  // AdamW m and v

  // Activations of one micro-batch (model/gpt.cc: NewActivations).
  const double b = std::max(1, cfg.train.micro_batch), BT = b * T;
  const double per_layer = 4 * BT * C + 4 * BT + 4 * BT * Cl + b * NHl * T + 2 * BT * Fl;
  // train.recompute (model/gpt.h): selective keeps all but the LayerNorm and GELU outputs, which
  // one shared scratch holds; full keeps only each block's input, plus one block's worth of
  // scratch and the recomputed block's output.
  const std::string& rc = cfg.train.recompute;
  const double dropped = rc == "full" ? per_layer - BT * C : rc == "selective" ? BT * (2 * C + Fl) : 0.0;
  const double scratch = blocks > 0 ? dropped + (rc == "full" ? BT * C : 0.0) : 0.0;
  double acts = blocks * (per_layer - dropped) + scratch + BT * C;  // x_out
  if (last) {
    // lnf and row statistics; the logits, or under full recompute one chunk of them
    // (model/head.cc: 128 rows x Vl forward, BT x Vc columns backward, Vc = 128 Vl / BT).
    double logits = BT * Vl;
    if (rc == "full") {
      const double rows = std::min(128.0, BT), cols = std::clamp(std::floor(rows * Vl / BT), 1.0, Vl);
      logits = std::max(rows * Vl, BT * cols);
    }
    acts += BT * C + logits + 7 * BT;
  }
  acts += 2 * BT * C + 4 * BT * Cl + BT * Fl;  // backward scratch
  acts += 2 * BT;                              // tokens, targets
  const double micro = std::max(1, cfg.train.grad_accum);
  const double in_flight = pp > 1 ? std::min(pp - stage, micro) : 1.0;  // train/pipeline.cc: slots
  double pipe = 0;
  if (pp > 1) {
    pipe = 2 * BT;                                 // inputs, targets
    if (!first) pipe += BT * C * (1 + in_flight);  // receive buffer, one input gradient per slot
    if (!last) pipe += BT * C;                     // gradient receive buffer
  }
  e.activations = (in_flight * acts + pipe) * kF;
  if (cfg.train.precision == "bf16") {
    e.parameters += n * 2;  // the bf16 weight copy
    // Per-thread bf16 copies of a linear's input and output gradient (kernels/cpu/matmul.cc).
    const double widest_in = std::max(C, Fl), widest_out = std::max({3 * Cl, C, Fl, last ? Vl : 0.0});
    e.activations += BT * (widest_in + widest_out) * 2;
  }

  // Communication: DP bucket scratch (at most the gradients), the tied embedding's sparse
  // gradient exchange over dp (train/trainer.cc: TakeEmbeddingGrad) when one rank holds both.
  double comm = 0;
  if (dp > 1) {
    comm += std::min(p.bucket_mb * 1024 * 1024 * 2, e.gradients);
    if (pp == 1) comm += BT * (C + 1) * (1 + dp) * kF;
  }
  e.comm = comm;

  // Data: the demo corpus is a string of bytes, then one int32 per token, plus the loader's
  // window table (one int64 per window). Token shards are memory-mapped.
  if (cfg.data.source == "demo") {
    const double tokens = static_cast<double>(cfg.data.demo_tokens);
    e.data = tokens * (1 + kF) + tokens / T * 8;
  }
  return e;
}

MemoryEstimate EstimateRankMemory(const Config& cfg) {
  MemoryEstimate worst = EstimateStageMemory(cfg, 0);
  for (int s = 1; s < std::max(1, cfg.parallel.pp); ++s) {
    MemoryEstimate e = EstimateStageMemory(cfg, s);
    if (e.total() > worst.total()) worst = e;
  }
  return worst;
}

std::string FormatMemoryEstimate(const MemoryEstimate& e) {
  return "parameters " + Gib(e.parameters) + ", gradients " + Gib(e.gradients) + ", optimizer " + Gib(e.optimizer) +
         ", activations " + Gib(e.activations) + ", communication " + Gib(e.comm) + ", data " + Gib(e.data) +
         ", total " + Gib(e.total());
}

namespace {

// A change of one key that makes the layout fit, or "".
std::string SuggestFit(const Config& cfg, int ranks_on_node, double available) {
  auto fits = [&](const Config& c) { return EstimateRankMemory(c).total() * ranks_on_node <= available; };
  const auto& p = cfg.parallel;
  if (p.zero == 0 && p.dp > 1) {
    Config c = cfg;
    c.parallel.zero = 1;
    if (fits(c)) return "parallel.zero=1";
  }
  for (int tp = p.tp * 2; tp <= cfg.model.heads && tp <= 4096; tp *= 2) {
    if (cfg.model.heads % tp != 0 || cfg.model.vocab % tp != 0) continue;
    Config c = cfg;
    c.parallel.tp = tp;
    if (fits(c)) return "parallel.tp=" + std::to_string(tp) + " (" + std::to_string(tp / p.tp) + "x the ranks)";
  }
  for (int pp = p.pp * 2; pp <= cfg.model.layers && pp <= 4096; pp *= 2) {
    Config c = cfg;
    c.parallel.pp = pp;
    c.parallel.pp_layers.clear();
    if (fits(c)) return "parallel.pp=" + std::to_string(pp) + " (" + std::to_string(pp / p.pp) + "x the ranks)";
  }
  for (int mb = cfg.train.micro_batch / 2; mb >= 1; mb /= 2) {
    Config c = cfg;
    c.train.micro_batch = mb;
    if (fits(c)) return "train.micro_batch=" + std::to_string(mb) + " (with more grad_accum)";
  }
  return "";
}

}  // namespace

Status CheckMemoryFits(const Config& cfg, int ranks_on_node, int64_t available_bytes) {
  ranks_on_node = std::max(1, ranks_on_node);
  const MemoryEstimate e = EstimateRankMemory(cfg);
  const double need = e.total() * ranks_on_node;
  const double available = static_cast<double>(available_bytes);
  if (need <= available) return Status::Ok();
  std::string msg = "this layout needs " + Gib(e.total()) + " per rank";
  if (ranks_on_node > 1) msg += " (" + std::to_string(ranks_on_node) + " ranks on this node: " + Gib(need) + ")";
  msg += "; the node has " + Gib(available) + " available (" + FormatMemoryEstimate(e) + ", pipeline stage " +
         std::to_string(e.stage) + ")";
  const std::string fix = SuggestFit(cfg, ranks_on_node, available);
  msg += fix.empty() ? "; use a smaller model (model.d_model, model.layers, model.vocab) or data.demo_tokens"
                     : "; try " + fix;
  return InvalidArgument(msg);
}

}  // namespace ogai
