#include "train/device_arena.h"

#include <algorithm>
#include <cstdio>

#include "kernels/cuda/scratch.h"

namespace ogai::train {
namespace {

int64_t AlignUp(int64_t n) { return (n + kArenaAlign - 1) / kArenaAlign * kArenaAlign; }
std::string MiB(int64_t b) {
  char s[32];
  std::snprintf(s, sizeof(s), "%.1f MiB", static_cast<double>(b) / (1 << 20));
  return s;
}

}  // namespace

const ArenaRegion* ArenaPlan::Find(const std::string& name) const {
  for (const auto& r : regions)
    if (r.name == name) return &r;
  return nullptr;
}

std::string ArenaPlan::Describe() const {
  std::string out;
  for (const auto& r : regions) {
    char line[256];
    std::snprintf(line, sizeof(line), "  %-16s %12s  %s\n", r.name.c_str(), MiB(r.bytes).c_str(), r.what.c_str());
    out += line;
  }
  out += "  total            " + MiB(total_bytes) + "\n";
  return out;
}

int64_t LocalParamElements(const ModelConfig& m, const parallel::ParallelLayout& layout) {
  int layers = m.layers;
  if (!layout.stage_layers.empty()) {
    const auto& r = layout.stage_layers[layout.pp_idx];
    layers = r.second - r.first;
  }
  return LocalParamElements(m, layout.tp, layers, layout.first_stage(), layout.last_stage());
}

ArenaPlan PlanDeviceArena(const Config& cfg, const parallel::ParallelLayout& layout) {
  ArenaPlan plan;
  const ModelConfig& m = cfg.model;
  const int64_t P = LocalParamElements(m, layout);
  plan.local_params = P;
  const int64_t dp = layout.dp, tp = layout.tp;
  const int64_t C = m.d_model, Cl = C / tp, Fl = 4 * C / tp, Vl = m.vocab / tp, NHl = m.heads / tp;
  const int64_t T = m.seq_len, Bm = cfg.train.micro_batch, BT = Bm * T;
  int layers = m.layers;
  if (!layout.stage_layers.empty()) {
    const auto& r = layout.stage_layers[layout.pp_idx];
    layers = r.second - r.first;
  }
  // ZeRO-1: optimizer state for this rank's chunk of every bucket; an upper bound is
  // ceil(P / dp) plus one element of padding per tensor-sized bucket.
  const int64_t opt = cfg.parallel.zero == 1 && dp > 1 ? (P + dp - 1) / dp + 16 * (layers * 16 + 5) : P;
  plan.micro_batches_in_flight =
      layout.pp > 1 ? std::max(1, std::min(layout.pp - layout.pp_idx, std::max(1, cfg.train.grad_accum))) : 1;
  const int64_t inflight = plan.micro_batches_in_flight;

  auto add = [&](const std::string& name, int64_t bytes, const std::string& what) {
    if (bytes <= 0) return;
    ArenaRegion r{name, what, plan.total_bytes, bytes};
    plan.total_bytes += AlignUp(bytes);
    plan.regions.push_back(std::move(r));
  };
  add("params.bf16", 2 * P, "this rank's parameters, bf16 (the GEMMs' operands)");
  add("grads.fp32", 4 * P, "gradients, fp32 (accumulated over micro-batches; DP buckets are ranges of it)");
  add("master.fp32", 4 * opt, "fp32 master weights (ZeRO-1: this rank's 1/dp)");
  add("adam.m", 4 * opt, "AdamW first moment, fp32");
  add("adam.v", 4 * opt, "AdamW second moment, fp32");
  // Per block and micro-batch, kept from forward for backward (bf16 unless noted).
  const int64_t per_block = 2 * BT *
                                (C                   // residual in (ln1 input)
                                 + C                 // ln1 out
                                 + 3 * Cl            // qkv
                                 + Cl                // attention out
                                 + C                 // attn.proj out
                                 + C                 // residual after attention (ln2 input)
                                 + C                 // ln2 out
                                 + 2 * Fl            // mlp.fc pre-activation (aux) and GELU out
                                 + C)                // mlp.proj out
                            + 4 * (4 * BT            // ln1/ln2 mean and rstd, fp32
                                   + Bm * NHl * T);  // attention lse, fp32
  add("act.blocks", per_block * layers * inflight,
      std::to_string(layers) + " blocks x " + std::to_string(inflight) + " micro-batch(es) in flight");
  if (layout.first_stage()) add("act.embed", 2 * BT * C * inflight + 4 * BT * inflight, "embedding out, tokens");
  if (layout.last_stage()) {
    add("act.head", (2 * 2 * BT * C + 8 * BT) * inflight, "final residual, lnf out (bf16) and its statistics");
    add("logits", 2 * BT * Vl, "logits, bf16, overwritten in place by their gradient (one micro-batch at a time)");
    add("loss", 4 * BT * 3, "per-token losses, targets, gradient scale");
  }
  // Backward temporaries, reused block after block.
  add("grad.tmp", 2 * BT * (2 * C + 3 * Cl + 2 * Fl), "activation gradients: residual x2, dqkv, dfc x2 (bf16)");
  const int64_t scratch_f = std::max({kernels::cuda::LayerNormBackwardScratch(BT, C),
                                      kernels::cuda::BiasBackwardScratch(BT, std::max({Fl, 3 * Cl, C})),
                                      kernels::cuda::AttentionBackwardScratch(Bm, T, NHl)});
  add("scratch", 8 * (kernels::cuda::GradSumSquaresScratch() + 1) + 4 * scratch_f,
      "grad-norm partials and result (fp64), then fixed-order reduction partials (kernels/cuda/scratch.h)");
  add("cublaslt.ws", kernels::cuda::kCublasLtWorkspaceBytes, "cuBLASLt workspace");
  if (layout.pp > 1) add("pp.buffers", 2 * 2 * BT * C, "pipeline send and receive activations, bf16");
  return plan;
}

Status CheckArenaFits(const ArenaPlan& plan, int64_t free_bytes, int64_t reserve_bytes, const std::string& device) {
  const int64_t need = plan.total_bytes + reserve_bytes;
  if (need <= free_bytes) return Status::Ok();
  std::vector<const ArenaRegion*> big;
  for (const auto& r : plan.regions) big.push_back(&r);
  std::sort(big.begin(), big.end(), [](auto* a, auto* b) { return a->bytes > b->bytes; });
  std::string top;
  for (size_t i = 0; i < big.size() && i < 3; ++i) top += (i ? ", " : "") + big[i]->name + " " + MiB(big[i]->bytes);
  return InvalidArgument("this rank's GPU memory plan needs " + MiB(need) + " (" + MiB(plan.total_bytes) + " arena + " +
                         MiB(reserve_bytes) + " reserve) but " + device + " has " + MiB(free_bytes) +
                         " free; largest: " + top +
                         "; lower train.micro_batch (raise train.grad_accum to keep the batch), raise parallel.tp or "
                         "parallel.pp, or set parallel.zero: 1");
}

}  // namespace ogai::train
