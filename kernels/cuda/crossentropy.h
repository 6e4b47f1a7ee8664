// Fused softmax + cross-entropy on the GPU: the maths of kernels/cpu/crossentropy.h.
//
//   loss_i = log sum_j exp(z_ij) - z_i,target_i
//   dz_ij  = scale_i * (softmax(z_i)_j - [j == target_i])
//
// One block per row: one pass for the row's maximum and sum of exponentials (online, in fp32),
// one pass that writes the gradient over the logits (bf16, in place). The probabilities are
// never stored: the only [M, V] tensor is the logits buffer, which becomes the gradient.
// Targets outside [0, V) are the caller's bug (the loader checks them).
#pragma once

#include <cstdint>

#include "kernels/cuda/types.h"

namespace ogai::kernels::cuda {

// losses[M] (fp32) and, when `dlogits_scale` is not null, the gradient written over `logits`
// with dlogits_scale[i] (device memory) as the per-row scale.
void CrossEntropyForwardBackward(float* losses, bf16* logits, const int32_t* targets, int64_t m, int64_t v,
                                 const float* dlogits_scale, cudaStream_t stream);

}  // namespace ogai::kernels::cuda
