// The device arena of one rank: every buffer the GPU step needs, sized up front from the
// config and the rank's layout, laid out in one allocation (256-byte aligned regions), so a
// layout that does not fit is refused before anything is allocated, with the numbers.
//
// Precision (docs/gpu.md): parameters bf16 (what the GEMMs read), fp32 master weights and
// AdamW moments (ZeRO-1: this rank's 1/dp share), fp32 gradients. Activations kept for
// backward are bf16 with fp32 statistics, per block on this stage and per micro-batch in
// flight (1F1B keeps up to pp - stage of them). Backward temporaries, reduction scratch
// (kernels/cuda/scratch.h), the cuBLASLt workspace and pipeline send/receive buffers are
// counted too. Parameter counts follow model/gpt.cc's flat-buffer rule exactly (each tensor
// padded to 16 elements, except inside the fused q/k/v), a test checks it against GPT::Create.
//
// The hardening work's per-rank host memory estimate (train/memory_estimate) did not exist
// when this was written: this plan is built from its own buffer list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "parallel/layout.h"
#include "train/config.h"
#include "train/param_count.h"

namespace ogai::train {

struct ArenaRegion {
  std::string name;  // "params.bf16", "act.block", ...
  std::string what;  // one line: which tensors, in which precision
  int64_t offset = 0;
  int64_t bytes = 0;
};

struct ArenaPlan {
  std::vector<ArenaRegion> regions;
  int64_t total_bytes = 0;
  int64_t local_params = 0;  // elements of this rank's flat parameter buffer
  int micro_batches_in_flight = 1;

  const ArenaRegion* Find(const std::string& name) const;
  // A table: region, MiB, what; then the total.
  std::string Describe() const;
};

inline constexpr int64_t kArenaAlign = 256;

// Elements of the flat parameter buffer a rank with this layout holds (train/param_count.h).
int64_t LocalParamElements(const ModelConfig& m, const parallel::ParallelLayout& layout);

ArenaPlan PlanDeviceArena(const Config& cfg, const parallel::ParallelLayout& layout);

// OK when the plan plus `reserve_bytes` (CUDA context, NCCL buffers, fragmentation) fits in
// `free_bytes`; otherwise one line with both sizes, the largest regions and what to change.
Status CheckArenaFits(const ArenaPlan& plan, int64_t free_bytes, int64_t reserve_bytes, const std::string& device);

}  // namespace ogai::train
