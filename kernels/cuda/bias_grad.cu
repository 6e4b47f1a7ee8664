#include "kernels/cuda/bias_grad.h"
#include "kernels/cuda/common.cuh"

namespace ogai::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kRowsPerChunk = kBiasRowsPerChunk;

__global__ void PartialKernel(float* partial, const bf16* dout, int64_t m, int64_t n) {
  const int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  const int64_t r0 = blockIdx.y * kRowsPerChunk, r1 = min(m, r0 + kRowsPerChunk);
  float s = 0;
  for (int64_t r = r0; r < r1; ++r) s += F(dout[r * n + j]);
  partial[blockIdx.y * n + j] = s;
}

__global__ void FinishKernel(float* dbias, const float* partial, int64_t chunks, int64_t n, bool accumulate) {
  const int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  float s = 0;
  for (int64_t k = 0; k < chunks; ++k) s += partial[k * n + j];
  dbias[j] = accumulate ? dbias[j] + s : s;
}

}  // namespace

void BiasBackward(float* dbias, const bf16* dout, int64_t m, int64_t n, bool accumulate, float* scratch,
                  cudaStream_t stream) {
  if (n == 0) return;
  const int64_t chunks = CeilDiv(m, kRowsPerChunk);
  if (chunks > 0) {
    const dim3 grid(static_cast<unsigned>(CeilDiv(n, kThreads)), static_cast<unsigned>(chunks));
    PartialKernel<<<grid, kThreads, 0, stream>>>(scratch, dout, m, n);
  }
  FinishKernel<<<CeilDiv(n, kThreads), kThreads, 0, stream>>>(dbias, scratch, chunks, n, accumulate);
}

}  // namespace ogai::kernels::cuda
