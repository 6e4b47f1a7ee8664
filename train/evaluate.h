// Validation loss: the mean token loss of a model over a fixed set of windows of a data
// loader (a held-out split), with no gradient work. The trainer calls it every
// train.eval_every steps; other tools (a model registry's eval) can call it on any model.
//
// Batch b uses the loader's samples [b * global_batch, (b + 1) * global_batch), so the
// evaluated windows are the same at every evaluation and for every layout. Under data
// parallelism each DP rank takes micro-batches of those samples exactly as training does
// (micro-batch k of DP rank d starts at b * global_batch + k * micro_batch * dp + d *
// micro_batch) and the ranks' sums meet in one all-reduce over `world`. The bytes behind the
// evaluated targets are counted by every rank over all the batches' samples (table lookups,
// no reduction), so they are exact integers on every layout.
#pragma once

#include <cstdint>
#include <vector>

#include "comm/process_group.h"
#include "core/status.h"
#include "dataproc/loader.h"
#include "model/gpt.h"

namespace ogai::train {

struct EvalOptions {
  int batches = 1;       // global batches to evaluate
  int global_batch = 1;  // sequences per batch (a multiple of micro_batch * dp_size)
  int micro_batch = 1;   // sequences per forward pass
  int dp_rank = 0, dp_size = 1;
  // Every rank of the job when the model is split over ranks or data-parallel (null: this
  // process alone). Each rank must call EvaluateLoss; only ranks with counts_loss add theirs.
  comm::ProcessGroup* world = nullptr;
  bool counts_loss = true;  // false on TP ranks > 0 (their loss is a duplicate)
  // The bytes of text each token id stands for (data::TextTokenizer::TokenByteLengths), for
  // bits per byte; null: not measured.
  const std::vector<int32_t>* token_bytes = nullptr;
};

struct EvalResult {
  double loss = 0;     // mean token loss
  int64_t tokens = 0;  // tokens evaluated (all ranks)
  int64_t bytes = 0;   // the bytes of text those target tokens stand for (0: not measured)
  double seconds = 0;
  // Nats per token over ln 2, times tokens per byte; NaN when the bytes were not measured.
  double bits_per_byte() const;
};

// The model must hold a whole pipeline (parallel.pp = 1): its Forward turns tokens into a loss.
Result<EvalResult> EvaluateLoss(model::GPT& model, const data::DataLoader& loader, const EvalOptions& opts);

}  // namespace ogai::train
