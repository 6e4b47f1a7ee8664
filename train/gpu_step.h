// The GPT training step on GPUs (model.device = cuda): forward, backward and AdamW on the
// device through kernels/cuda, in the arena train/device_arena.h plans; one GPU, or data
// parallelism over an nccl process group (tp = pp = 1). With dp > 1 the gradient buckets
// (parallel/buckets.h) are averaged by NCCL on the group's stream in the order
// parallel/stream_plan.h checks: each bucket's all-reduce is issued as soon as backward has
// finished its last tensor (parallel.overlap; otherwise after backward), and the optimizer
// follows the last one in stream order.
// Built only with CUDA (OGAI_HAVE_CUDA). UNVERIFIED: compiled, never run on a GPU
// (docs/gpu.md); ogai-bench train uses it, ogai-worker's Trainer does not (see
// CudaTrainerMissing in train/device.h).
//
// Parameters start as the CPU model's (model::GPT::Init with train.seed), so the first steps
// can be compared with the CPU fp32 run; the fp32 master copy is what AdamW updates, the bf16
// copy is what forward and backward read. Data come from the same loader as the CPU trainer.
#pragma once

#include <memory>
#include <string>

#include "comm/process_group.h"
#include "core/status.h"
#include "train/config.h"
#include "train/device_arena.h"

namespace ogai::train {

struct GpuStepStats {
  double loss = 0;       // mean token loss of the step
  double grad_norm = 0;  // before clipping
  double seconds = 0;    // wall time of the step (the host waits for the device at its end)
};

class GpuStep {
 public:
  // `device`: the CUDA ordinal (CheckDevice's). `dp`: the data-parallel group (an nccl group of
  // parallel.dp ranks) when parallel.dp > 1, else null. Errors: tp or pp > 1, a head size over
  // 256, an arena that does not fit, a dp group that is missing or not nccl, any CUDA,
  // cuBLASLt, NCCL or data error.
  static Result<std::unique_ptr<GpuStep>> Create(const Config& cfg, int device, comm::ProcessGroup* dp = nullptr);
  ~GpuStep();

  // One optimizer step: train.grad_accum micro-batches, the global norm, clipping, AdamW.
  Result<GpuStepStats> Step();

  const ArenaPlan& plan() const;
  const std::string& device_name() const;

 private:
  GpuStep();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ogai::train
