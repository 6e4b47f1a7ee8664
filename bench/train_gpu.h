// ogai-bench train with model.device = cuda: the one-GPU step (train/gpu_step.h), timed.
// Built only with CUDA. Prints tokens/s, model FLOP/s and MFU against the GPU's bf16 dense
// peak (bench/gpu_peak.h); --json gives the same keys as the CPU run where they mean the same.
#pragma once

#include <string>

#include "train/config.h"

namespace ogai::bench {

int RunTrainOnGpu(const Config& cfg, int device, int steps, int warmup, bool json);

}  // namespace ogai::bench
