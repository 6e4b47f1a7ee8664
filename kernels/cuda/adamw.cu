#include <cmath>

#include "kernels/cuda/adamw.h"
#include "kernels/cuda/common.cuh"

namespace ogai::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kNormBlocks = kGradNormBlocks;  // fixed: the order does not depend on the device

__global__ void AdamWKernel(float* master, bf16* param, float* grad, float* m, float* v, int64_t n, float lr, float b1,
                            float b2, float eps, float wd, float bc1, float bc2, float gscale, bool zero_grad) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float g = grad[i] * gscale;
  const float mi = b1 * m[i] + (1.0f - b1) * g;
  const float vi = b2 * v[i] + (1.0f - b2) * g * g;
  m[i] = mi;
  v[i] = vi;
  const float p = master[i];
  const float np = p - lr * ((mi / bc1) / (sqrtf(vi / bc2) + eps) + wd * p);
  master[i] = np;
  param[i] = B(np);
  if (zero_grad) grad[i] = 0.0f;
}

__global__ void SumSquaresPartialKernel(double* partial, const float* x, int64_t n) {
  __shared__ float red[32];
  const int64_t per_block = (n + gridDim.x - 1) / gridDim.x;
  const int64_t b0 = blockIdx.x * per_block, b1 = min(n, b0 + per_block);
  float s = 0;
  for (int64_t i = b0 + threadIdx.x; i < b1; i += blockDim.x) s += x[i] * x[i];
  s = BlockSum(s, red);
  if (threadIdx.x == 0) partial[blockIdx.x] = static_cast<double>(s);
}

__global__ void SumSquaresFinishKernel(double* out, const double* partial, int blocks, bool accumulate) {
  if (threadIdx.x != 0) return;
  double s = 0;
  for (int k = 0; k < blocks; ++k) s += partial[k];
  *out = accumulate ? *out + s : s;
}

}  // namespace

void AdamWUpdate(float* master, bf16* param, float* grad, float* m, float* v, int64_t n, const AdamWStep& s, bool decay,
                 bool zero_grad, cudaStream_t stream) {
  if (n == 0) return;
  const float bc1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(s.beta1), static_cast<double>(s.step)));
  const float bc2 = 1.0f - static_cast<float>(std::pow(static_cast<double>(s.beta2), static_cast<double>(s.step)));
  AdamWKernel<<<CeilDiv(n, kThreads), kThreads, 0, stream>>>(master, param, grad, m, v, n, s.lr, s.beta1, s.beta2,
                                                             s.eps, decay ? s.weight_decay : 0.0f, bc1, bc2,
                                                             s.grad_scale, zero_grad);
}

void GradSumSquares(double* out, const float* x, int64_t n, bool accumulate, double* scratch, cudaStream_t stream) {
  SumSquaresPartialKernel<<<kNormBlocks, kThreads, 0, stream>>>(scratch, x, n);
  SumSquaresFinishKernel<<<1, kWarp, 0, stream>>>(out, scratch, kNormBlocks, accumulate);
}

}  // namespace ogai::kernels::cuda
