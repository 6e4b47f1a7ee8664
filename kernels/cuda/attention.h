// Causal multi-head self-attention on the GPU: the maths of kernels/cpu/attention.h.
//
// qkv is [B, T, 3*C] (Q for all heads, then K, then V; head h owns columns [h*hd, (h+1)*hd)).
// Per batch b and head h, with s = 1/sqrt(hd):
//   S[i,j] = s * q_i . k_j  for j <= i;   P = softmax_rows(S);   O = P V;   lse[i] = log sum_j exp(S[i,j])
// out is [B, T, C] (bf16), lse [B, NH, T] (fp32). Backward recomputes P from Q, K and lse:
//   D_i = rowsum(dO_i * O_i);   dS = P * (dO V^T - D);   dQ = s dS K;   dK = s dS^T Q;   dV = P^T dO
//
// Two implementations with this one contract:
//   * the plain kernels here (the fallback, any hd <= 256): one warp per query row (forward,
//     dQ) or per key row (dK, dV), an online softmax in fp32. Every sum runs in a fixed order
//     (no atomics), so the bits are the same on every run. O(T^2 hd) per head with no tiling
//     in shared memory: correct, not fast.
//   * cuDNN's fused flash attention through its graph API (attention_cudnn.h), the fast path.
#pragma once

#include <cstdint>

#include "kernels/cuda/scratch.h"
#include "kernels/cuda/types.h"

namespace ogai::kernels::cuda {

void AttentionForward(bf16* out, float* lse, const bf16* qkv, int64_t b, int64_t t, int64_t nh, int64_t hd,
                      cudaStream_t stream);

// scratch: AttentionBackwardScratch(b, t, nh) floats (scratch.h), for D.

// dqkv has qkv's layout and is overwritten.
void AttentionBackward(bf16* dqkv, const bf16* dout, const bf16* out, const float* lse, const bf16* qkv, int64_t b,
                       int64_t t, int64_t nh, int64_t hd, float* scratch, cudaStream_t stream);

}  // namespace ogai::kernels::cuda
