// Causal multi-head self-attention on a fused QKV activation.
//
// qkv is [B, T, 3*C] with, in each row, Q for all heads, then K, then V; head h of each owns
// columns [h*hd, (h+1)*hd). C = NH * hd. Per batch b and head h, with s = 1/sqrt(hd):
//
//   S[i,j] = s * q_i . k_j   for j <= i (causal), -inf otherwise
//   P      = softmax_rows(S);   O = P V;   lse[i] = log sum_j exp(S[i,j])
//
// out is [B, T, C] (heads side by side). Only lse ([B, NH, T]) is saved for backward; the
// backward recomputes P from Q, K and lse (no T x T matrix is kept), then
//
//   dV = P^T dO;   dP = dO V^T;   dS = P * (dP - rowsum(dO * O));   dQ = s dS K;   dK = s dS^T Q
//
// dqkv has qkv's layout and is overwritten.
//
// Two implementations, equal within fp32 rounding (tests/kernels/attention_test.cc):
//   blocked (default, attention_blocked.cc) — flash-attention style: tiles of kAttentionTile
//     queries against tiles of keys, the tile products on oneDNN's SGEMM (the linears' GEMM),
//     an online softmax, tiles above the diagonal skipped, P recomputed per tile in backward.
//   rowwise (attention_rowwise.cc) — one query row at a time with vector dot products; the
//     baseline `ogai-bench train --baseline attention=rowwise` measures against.
// Both are deterministic: every output row (forward) and every head (backward) is computed by
// one thread in a fixed order, so the bits do not depend on the thread count.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace ogai::kernels {

inline constexpr int64_t kAttentionTile = 64;

enum class AttentionKernel { kBlocked, kRowwise };
// "blocked" or "rowwise"; process-wide, for benchmarks and tests.
Status SetAttentionKernel(const std::string& name);
AttentionKernel GetAttentionKernel();

void AttentionForward(float* out, float* lse, const float* qkv, int64_t b, int64_t t, int64_t nh, int64_t hd);

void AttentionBackward(float* dqkv, const float* dout, const float* out, const float* lse, const float* qkv, int64_t b,
                       int64_t t, int64_t nh, int64_t hd);

// The implementations, callable directly (tests).
void AttentionForwardBlocked(float* out, float* lse, const float* qkv, int64_t b, int64_t t, int64_t nh, int64_t hd);
void AttentionBackwardBlocked(float* dqkv, const float* dout, const float* out, const float* lse, const float* qkv,
                              int64_t b, int64_t t, int64_t nh, int64_t hd);
void AttentionForwardRowwise(float* out, float* lse, const float* qkv, int64_t b, int64_t t, int64_t nh, int64_t hd);
void AttentionBackwardRowwise(float* dqkv, const float* dout, const float* out, const float* lse, const float* qkv,
                              int64_t b, int64_t t, int64_t nh, int64_t hd);

}  // namespace ogai::kernels
