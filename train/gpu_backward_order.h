// The order in which the GPU step's backward (train/gpu_step.cc) finishes each parameter's
// gradient: the head's LayerNorm, then per block from the last, the MLP down-projection, the
// MLP up-projection, LayerNorm 2, the attention projection, q/k/v, LayerNorm 1, and last the
// position and token embeddings (the tied wte gets its lookup's share at the very end).
//
// Plain host code: the GPU step checks, with parallel/stream_plan.h, that the DP plan built
// from this order is valid, and asserts at run time that its backward reports gradients in
// exactly this order, so the plan that is tested is the one that runs.
#pragma once

#include <vector>

#include "core/status.h"
#include "model/gpt.h"

namespace ogai::train {

// Parameter indices of a dense (tp = pp = 1) model's `params`, in backward's order; an error
// if a tensor the step expects is missing.
Result<std::vector<int>> GpuBackwardReadyOrder(const std::vector<model::ParamSpec>& params, int layers);

}  // namespace ogai::train
