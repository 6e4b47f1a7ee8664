#include "kernels/cpu/layernorm.h"  // kLayerNormEps: the same epsilon as the CPU twin
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/layernorm.h"

namespace ogai::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kRowsPerChunk = kLayerNormRowsPerChunk;

// One block per row. With residual_in, x = residual_in + inp is stored to residual_out first.
__global__ void ForwardKernel(bf16* residual_out, bf16* out, float* mean, float* rstd, const bf16* residual_in,
                              const bf16* inp, const bf16* w, const bf16* b, int64_t c) {
  __shared__ float red[32];
  const int64_t row = blockIdx.x;
  const bf16* x_in = inp + row * c;
  const bf16* r_in = residual_in ? residual_in + row * c : nullptr;
  bf16* r_out = residual_out ? residual_out + row * c : nullptr;
  float s = 0;
  for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
    float x = F(x_in[j]);
    if (r_in) {
      const bf16 xb = B(x + F(r_in[j]));
      r_out[j] = xb;
      x = F(xb);  // normalise what was stored, as the CPU twin normalises its fp32 residual
    }
    s += x;
  }
  const float m = BlockSum(s, red) / static_cast<float>(c);
  // Second pass reads the stored residual (now in global memory, this block's own row).
  const bf16* x_row = r_out ? r_out : x_in;
  __syncthreads();
  float v = 0;
  for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
    const float d = F(x_row[j]) - m;
    v += d * d;
  }
  const float rs = rsqrtf(BlockSum(v, red) / static_cast<float>(c) + kLayerNormEps);
  for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
    const float xh = (F(x_row[j]) - m) * rs;
    out[row * c + j] = B(xh * F(w[j]) + F(b[j]));
  }
  if (threadIdx.x == 0) {
    mean[row] = m;
    rstd[row] = rs;
  }
}

// One block per row: dx. Partial dw/db go to scratch per chunk of rows, by a separate kernel.
__global__ void BackwardInputKernel(bf16* dinp, const bf16* dout, const bf16* inp, const bf16* w, const float* mean,
                                    const float* rstd, int64_t c) {
  __shared__ float red[32];
  const int64_t row = blockIdx.x;
  const float m = mean[row], rs = rstd[row];
  float sg = 0, sgx = 0;
  for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
    const float g = F(dout[row * c + j]) * F(w[j]);
    const float xh = (F(inp[row * c + j]) - m) * rs;
    sg += g;
    sgx += g * xh;
  }
  const float mg = BlockSum(sg, red) / static_cast<float>(c);
  const float mgx = BlockSum(sgx, red) / static_cast<float>(c);
  for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
    const float g = F(dout[row * c + j]) * F(w[j]);
    const float xh = (F(inp[row * c + j]) - m) * rs;
    const int64_t k = row * c + j;
    dinp[k] = B(F(dinp[k]) + rs * (g - mg - xh * mgx));
  }
}

// Grid (column tiles, row chunks): each thread sums its column over the chunk's rows in order.
__global__ void BackwardParamsPartialKernel(float* partial, const bf16* dout, const bf16* inp, const float* mean,
                                            const float* rstd, int64_t n, int64_t c) {
  const int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (j >= c) return;
  const int64_t r0 = blockIdx.y * kRowsPerChunk, r1 = min(n, r0 + kRowsPerChunk);
  float sw = 0, sb = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const float dy = F(dout[r * c + j]);
    sw += dy * (F(inp[r * c + j]) - mean[r]) * rstd[r];
    sb += dy;
  }
  partial[(blockIdx.y * 2) * c + j] = sw;
  partial[(blockIdx.y * 2 + 1) * c + j] = sb;
}

__global__ void BackwardParamsFinishKernel(float* dw, float* db, const float* partial, int64_t chunks, int64_t c,
                                           bool accumulate) {
  const int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (j >= c) return;
  float sw = 0, sb = 0;
  for (int64_t k = 0; k < chunks; ++k) {
    sw += partial[(k * 2) * c + j];
    sb += partial[(k * 2 + 1) * c + j];
  }
  dw[j] = accumulate ? dw[j] + sw : sw;
  db[j] = accumulate ? db[j] + sb : sb;
}

}  // namespace

void LayerNormForward(bf16* out, float* mean, float* rstd, const bf16* inp, const bf16* w, const bf16* b, int64_t n,
                      int64_t c, cudaStream_t stream) {
  if (n == 0) return;
  ForwardKernel<<<n, kThreads, 0, stream>>>(nullptr, out, mean, rstd, nullptr, inp, w, b, c);
}

void ResidualLayerNormForward(bf16* residual_out, bf16* out, float* mean, float* rstd, const bf16* residual_in,
                              const bf16* inp, const bf16* w, const bf16* b, int64_t n, int64_t c,
                              cudaStream_t stream) {
  if (n == 0) return;
  ForwardKernel<<<n, kThreads, 0, stream>>>(residual_out, out, mean, rstd, residual_in, inp, w, b, c);
}

void LayerNormBackward(bf16* dinp, float* dw, float* db, const bf16* dout, const bf16* inp, const bf16* w,
                       const float* mean, const float* rstd, int64_t n, int64_t c, bool accumulate_params,
                       float* scratch, cudaStream_t stream) {
  if (n == 0) return;
  BackwardInputKernel<<<n, kThreads, 0, stream>>>(dinp, dout, inp, w, mean, rstd, c);
  const int64_t chunks = CeilDiv(n, kRowsPerChunk);
  const dim3 grid(static_cast<unsigned>(CeilDiv(c, kThreads)), static_cast<unsigned>(chunks));
  BackwardParamsPartialKernel<<<grid, kThreads, 0, stream>>>(scratch, dout, inp, mean, rstd, n, c);
  BackwardParamsFinishKernel<<<CeilDiv(c, kThreads), kThreads, 0, stream>>>(dw, db, scratch, chunks, c,
                                                                            accumulate_params);
}

}  // namespace ogai::kernels::cuda
