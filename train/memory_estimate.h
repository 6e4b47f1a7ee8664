// How much host memory one rank of a job needs, estimated from the resolved config before
// anything is allocated, so that a layout that cannot fit is refused with the numbers
// instead of dying in std::bad_alloc (or being killed by the OOM killer) minutes later.
//
// The estimate follows what the runtime allocates (model/gpt.cc, optim/adamw.cc,
// train/pipeline.cc, train/trainer.cc, dataproc/loader.cc): fp32 parameters and gradients of
// this rank's slice (tensor-parallel split of the matrices and the vocabulary, the blocks of
// its pipeline stage, the embeddings on the first and last stage), AdamW's two moments
// (divided over dp under ZeRO-1), the activations kept for backward for every micro-batch in
// flight (1F1B keeps up to pp - stage of them), communication scratch (DP buckets, the tied
// embedding's gradient exchange) and the data (the demo corpus is generated in memory, token
// shards are memory-mapped and not counted). The figures are computed in double precision,
// so absurd configs give huge numbers, never a wrapped one. It is the worst rank of the
// layout (the stage that needs most).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "train/config.h"

namespace ogai {

struct MemoryEstimate {
  double parameters = 0;
  double gradients = 0;
  double optimizer = 0;
  double activations = 0;
  double comm = 0;
  double data = 0;
  int stage = 0;  // the pipeline stage this estimate is for
  double total() const { return parameters + gradients + optimizer + activations + comm + data; }
};

// The estimate for a rank of pipeline stage `stage` (0 .. pp-1) of a validated config
// (global_batch and grad_accum derived).
MemoryEstimate EstimateStageMemory(const Config& cfg, int stage);
// The largest estimate over the pipeline stages: what every rank must be able to hold.
MemoryEstimate EstimateRankMemory(const Config& cfg);

// "parameters 1.2 GiB, gradients 1.2 GiB, optimizer 2.4 GiB, activations ..., total 5.1 GiB".
std::string FormatMemoryEstimate(const MemoryEstimate& e);

// OK when `ranks_on_node` ranks of this layout fit in `available_bytes`; else an
// InvalidArgument naming the need, what is available, and a change that would fit
// ("this layout needs 38.2 GiB per rank; the node has 21.4 GiB available; try parallel.tp=4").
Status CheckMemoryFits(const Config& cfg, int ranks_on_node, int64_t available_bytes);

}  // namespace ogai
