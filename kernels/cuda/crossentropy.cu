#include "kernels/cuda/common.cuh"
#include "kernels/cuda/crossentropy.h"

namespace ogai::kernels::cuda {
namespace {

constexpr int kThreads = 512;

// Online max/sum per thread over a strided slice, then combined across the block in a fixed
// tree: (m1, s1) + (m2, s2) = (max, s1 e^(m1-max) + s2 e^(m2-max)).
__global__ void XentKernel(float* losses, bf16* logits, const int32_t* targets, int64_t v, const float* scale) {
  __shared__ float red_m[32];
  __shared__ float red_s[32];
  const int64_t row = blockIdx.x;
  bf16* z = logits + row * v;
  float m = -INFINITY, s = 0;
  for (int64_t j = threadIdx.x; j < v; j += blockDim.x) {
    const float x = F(z[j]);
    if (x > m) {
      s = s * __expf(m - x) + 1.0f;
      m = x;
    } else {
      s += __expf(x - m);
    }
  }
  // Warp, then block combination.
  for (int o = kWarp / 2; o > 0; o /= 2) {
    const float om = __shfl_xor_sync(0xffffffffu, m, o), os = __shfl_xor_sync(0xffffffffu, s, o);
    const float nm = fmaxf(m, om);
    s = (m == -INFINITY ? 0.0f : s * __expf(m - nm)) + (om == -INFINITY ? 0.0f : os * __expf(om - nm));
    m = nm;
  }
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
  if (lane == 0) {
    red_m[warp] = m;
    red_s[warp] = s;
  }
  __syncthreads();
  m = lane < warps ? red_m[lane] : -INFINITY;
  s = lane < warps ? red_s[lane] : 0.0f;
  for (int o = kWarp / 2; o > 0; o /= 2) {
    const float om = __shfl_xor_sync(0xffffffffu, m, o), os = __shfl_xor_sync(0xffffffffu, s, o);
    const float nm = fmaxf(m, om);
    s = (m == -INFINITY ? 0.0f : s * __expf(m - nm)) + (om == -INFINITY ? 0.0f : os * __expf(om - nm));
    m = nm;
  }
  const int64_t t = targets[row];
  const float zt = F(z[t]);
  __syncthreads();  // every thread has read z[t] before any gradient overwrites it
  if (threadIdx.x == 0) losses[row] = m + logf(s) - zt;
  if (scale == nullptr) return;
  const float sc = scale[row], inv = 1.0f / s;
  for (int64_t j = threadIdx.x; j < v; j += blockDim.x) {
    const float p = __expf(F(z[j]) - m) * inv;
    z[j] = B(sc * (p - (j == t ? 1.0f : 0.0f)));
  }
}

}  // namespace

void CrossEntropyForwardBackward(float* losses, bf16* logits, const int32_t* targets, int64_t m, int64_t v,
                                 const float* dlogits_scale, cudaStream_t stream) {
  if (m == 0) return;
  XentKernel<<<m, kThreads, 0, stream>>>(losses, logits, targets, v, dlogits_scale);
}

}  // namespace ogai::kernels::cuda
