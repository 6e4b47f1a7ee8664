#include "train/dry_run.h"

#include <cstdio>

#include "ckpt/reader.h"
#include "core/memory.h"
#include "model/gpt.h"
#include "parallel/layout.h"
#include "train/memory_estimate.h"

namespace ogai::train {
namespace {

// "1,234,567"
std::string Grouped(int64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string LayoutText(int dp, int tp, int pp) {
  return "dp " + std::to_string(dp) + " x tp " + std::to_string(tp) + " x pp " + std::to_string(pp);
}

// What checkpoint.resume would load, read from the manifests only.
std::string ResumePlan(const Config& cfg) {
  const auto& cc = cfg.checkpoint;
  if (cc.resume == "none") return "none (checkpoint.resume=none): from scratch";
  std::string path = cc.resume;
  if (cc.resume == "auto") {
    if (cc.dir.empty()) return "nothing: checkpoint.dir is not set (from scratch; no checkpoint will be saved)";
    auto candidates = ckpt::ResumeCandidates(cc.dir);
    if (!candidates.ok()) return "unknown: " + candidates.status().message();
    if (candidates->empty()) return "nothing yet: no committed checkpoint in " + cc.dir + " (from scratch)";
    path = candidates->front();
  }
  auto ck = ckpt::Checkpoint::Open(path);
  if (!ck.ok()) return "cannot open " + path + ": " + ck.status().message() + " (the job would fail or fall back)";
  const auto& L = (*ck)->manifest().layout();
  const auto& P = cfg.parallel;
  const bool same = L.dp() == P.dp && L.tp() == P.tp && L.pp() == P.pp;
  std::string s = (*ck)->path() + " at step " + std::to_string((*ck)->step()) + " (saved at " +
                  LayoutText(L.dp(), L.tp(), L.pp()) + (same ? ", this layout" : ", resharded to this layout") + ")";
  if ((*ck)->manifest().train().global_batch() != cfg.train.global_batch) {
    s += "; it fails: saved with global_batch " + std::to_string((*ck)->manifest().train().global_batch());
  } else if ((*ck)->step() >= cfg.train.steps) {
    s += "; nothing is left to train (train.steps = " + std::to_string(cfg.train.steps) + ")";
  }
  return s;
}

}  // namespace

Result<std::string> DescribePlan(const Config& cfg, int world) {
  const auto& P = cfg.parallel;
  const auto& M = cfg.model;
  const auto& T = cfg.train;
  OGAI_ASSIGN_OR_RETURN(auto layout, parallel::MakeLayout(P, M, 0, world));
  std::string stages;
  for (const auto& [b, e] : layout.stage_layers) {
    stages += (stages.empty() ? "" : ", ") + std::to_string(b) + ".." + std::to_string(e - 1);
  }
  std::string out;
  out += "layout:  " + LayoutText(P.dp, P.tp, P.pp) + " = " + std::to_string(world) +
         (world == 1 ? " rank" : " ranks") + "; ZeRO-1 " + (P.zero > 0 ? "on" : "off") +
         "; blocks per stage: " + stages + "\n";
  const int64_t tokens = static_cast<int64_t>(T.global_batch) * M.seq_len;
  out += "batch:   global_batch " + std::to_string(T.global_batch) + " = micro_batch " + std::to_string(T.micro_batch) +
         " x grad_accum " + std::to_string(T.grad_accum) + " x dp " + std::to_string(P.dp) + "; x seq_len " +
         std::to_string(M.seq_len) + " = " + Grouped(tokens) + " tokens per step; " + Grouped(T.steps) +
         " steps = " + Grouped(tokens * T.steps) + " tokens\n";
  const int64_t params = model::GPT::DenseParamCount(M);
  out += "model:   " + std::to_string(M.layers) + " layers, d_model " + std::to_string(M.d_model) + ", " +
         std::to_string(M.heads) + " heads, vocab " + std::to_string(M.vocab) + ", seq_len " +
         std::to_string(M.seq_len) + ": " + Grouped(params) + " parameters (" + FormatBytes(params * 4) + " as fp32)\n";
  const MemoryEstimate mem = EstimateRankMemory(cfg);
  out += "memory:  " + FormatBytes(static_cast<int64_t>(mem.total())) + " per rank, estimated (pipeline stage " +
         std::to_string(mem.stage) + ", the largest): " + FormatMemoryEstimate(mem) + "\n";
  out += "resume:  " + ResumePlan(cfg) + "\n";
  return out;
}

}  // namespace ogai::train
