#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gelu.h"

namespace ogai::kernels::cuda {
namespace {

constexpr float kS = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kA = 0.044715f;
constexpr int kThreads = 256;

__global__ void ForwardKernel(bf16* out, const bf16* inp, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float x = F(inp[i]);
  out[i] = B(0.5f * x * (1.0f + tanhf(kS * (x + kA * x * x * x))));
}

__global__ void BackwardKernel(bf16* dinp, const bf16* inp, const bf16* dout, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float x = F(inp[i]);
  const float th = tanhf(kS * (x + kA * x * x * x));
  const float d = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * kS * (1.0f + 3.0f * kA * x * x);
  dinp[i] = B(F(dout[i]) * d);
}

}  // namespace

void GeluForward(bf16* out, const bf16* inp, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  ForwardKernel<<<CeilDiv(n, kThreads), kThreads, 0, stream>>>(out, inp, n);
}

void GeluBackward(bf16* dinp, const bf16* inp, const bf16* dout, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  BackwardKernel<<<CeilDiv(n, kThreads), kThreads, 0, stream>>>(dinp, inp, dout, n);
}

}  // namespace ogai::kernels::cuda
