#include "kernels/cuda/common.cuh"
#include "kernels/cuda/embedding.h"

namespace ogai::kernels::cuda {
namespace {

__global__ void LookupKernel(bf16* out, const int32_t* tokens, const bf16* wte, int64_t n, int64_t c, int64_t v0,
                             int64_t v1) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= n * c) return;
  const int64_t i = idx / c, j = idx % c;
  const int64_t tok = tokens[i];
  out[idx] = (tok >= v0 && tok < v1) ? wte[(tok - v0) * c + j] : B(0.0f);
}

__global__ void LookupBackwardKernel(float* dwte, const bf16* dout, const int32_t* tokens, int64_t n, int64_t c,
                                     int64_t v0, int64_t v1) {
  const int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (j >= c) return;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t tok = tokens[i];
    if (tok >= v0 && tok < v1) dwte[(tok - v0) * c + j] += F(dout[i * c + j]);
  }
}

__global__ void PositionAddKernel(bf16* out, const bf16* wpe, int64_t b, int64_t t, int64_t c) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= b * t * c) return;
  out[idx] = B(F(out[idx]) + F(wpe[idx % (t * c)]));
}

__global__ void PositionAddBackwardKernel(float* dwpe, const bf16* dout, int64_t b, int64_t t, int64_t c,
                                          bool accumulate) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= t * c) return;
  float s = accumulate ? dwpe[idx] : 0.0f;
  for (int64_t bi = 0; bi < b; ++bi) s += F(dout[bi * t * c + idx]);
  dwpe[idx] = s;
}

constexpr int kThreads = 256;

}  // namespace

void EmbeddingLookup(bf16* out, const int32_t* tokens, const bf16* wte, int64_t n_tokens, int64_t c,
                     int64_t vocab_begin, int64_t vocab_end, cudaStream_t stream) {
  const int64_t total = n_tokens * c;
  if (total == 0) return;
  LookupKernel<<<CeilDiv(total, kThreads), kThreads, 0, stream>>>(out, tokens, wte, n_tokens, c, vocab_begin,
                                                                  vocab_end);
}

void EmbeddingLookupBackward(float* dwte, const bf16* dout, const int32_t* tokens, int64_t n_tokens, int64_t c,
                             int64_t vocab_begin, int64_t vocab_end, cudaStream_t stream) {
  if (n_tokens == 0 || c == 0) return;
  LookupBackwardKernel<<<CeilDiv(c, kThreads), kThreads, 0, stream>>>(dwte, dout, tokens, n_tokens, c, vocab_begin,
                                                                      vocab_end);
}

void PositionAdd(bf16* out, const bf16* wpe, int64_t b, int64_t t, int64_t c, cudaStream_t stream) {
  const int64_t total = b * t * c;
  if (total == 0) return;
  PositionAddKernel<<<CeilDiv(total, kThreads), kThreads, 0, stream>>>(out, wpe, b, t, c);
}

void PositionAddBackward(float* dwpe, const bf16* dout, int64_t b, int64_t t, int64_t c, bool accumulate,
                         cudaStream_t stream) {
  if (t * c == 0) return;
  PositionAddBackwardKernel<<<CeilDiv(t * c, kThreads), kThreads, 0, stream>>>(dwpe, dout, b, t, c, accumulate);
}

}  // namespace ogai::kernels::cuda
