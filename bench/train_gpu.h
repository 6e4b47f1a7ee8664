// ogai-bench train with model.device = cuda: the GPU step (train/gpu_step.h), timed; one GPU,
// or data parallelism under ogai-run / mpirun with parallel.backend: nccl.
// Built only with CUDA. Prints tokens/s, model FLOP/s and MFU against the GPU's bf16 dense
// peak (kernels/cuda/peak.h); --json gives the same keys as the CPU run where they mean the same.
#pragma once

#include <string>

#include "comm/process_group.h"
#include "train/config.h"

namespace ogai::bench {

// `dp`: the data-parallel nccl group when parallel.dp > 1 (rank 0 prints), else null.
int RunTrainOnGpu(const Config& cfg, int device, int steps, int warmup, bool json, comm::ProcessGroup* dp);

}  // namespace ogai::bench
