#include <cmath>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/common.cuh"

namespace ogai::kernels::cuda {
namespace {

constexpr int kMaxPerLane = 8;  // hd <= 32 * 8
constexpr int kWarpsPerBlock = 4;

struct Dims {
  int64_t b, t, nh, hd, c;
  float scale;
};

// Row pointer of Q (part 0), K (1) or V (2) of head h at (bi, ti).
__device__ __forceinline__ const bf16* Part(const bf16* qkv, const Dims& d, int64_t bi, int64_t ti, int64_t h,
                                            int part) {
  return qkv + (bi * d.t + ti) * 3 * d.c + part * d.c + h * d.hd;
}

__device__ __forceinline__ void Load(float* r, const bf16* p, int64_t hd) {
  const int lane = threadIdx.x % kWarp;
#pragma unroll
  for (int k = 0; k < kMaxPerLane; ++k) {
    const int64_t dd = lane + k * kWarp;
    r[k] = dd < hd ? F(p[dd]) : 0.0f;
  }
}

__device__ __forceinline__ float Dot(const float* a, const float* b) {
  float s = 0;
#pragma unroll
  for (int k = 0; k < kMaxPerLane; ++k) s += a[k] * b[k];
  return WarpSum(s);
}

// Warp w of the grid handles row (bi, h, i) = w decomposed.
__device__ __forceinline__ bool RowOfWarp(const Dims& d, int64_t* bi, int64_t* h, int64_t* i) {
  const int64_t w = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + threadIdx.x / kWarp;
  if (w >= d.b * d.nh * d.t) return false;
  *i = w % d.t;
  *h = (w / d.t) % d.nh;
  *bi = w / (d.t * d.nh);
  return true;
}

__global__ void ForwardKernel(bf16* out, float* lse, const bf16* qkv, Dims d) {
  int64_t bi, h, i;
  if (!RowOfWarp(d, &bi, &h, &i)) return;
  const int lane = threadIdx.x % kWarp;
  float q[kMaxPerLane], k[kMaxPerLane], v[kMaxPerLane], o[kMaxPerLane] = {};
  Load(q, Part(qkv, d, bi, i, h, 0), d.hd);
  float m = -INFINITY, l = 0;
  for (int64_t j = 0; j <= i; ++j) {
    Load(k, Part(qkv, d, bi, j, h, 1), d.hd);
    Load(v, Part(qkv, d, bi, j, h, 2), d.hd);
    const float s = d.scale * Dot(q, k);
    const float nm = fmaxf(m, s);
    const float corr = __expf(m - nm), p = __expf(s - nm);
    l = l * corr + p;
#pragma unroll
    for (int kk = 0; kk < kMaxPerLane; ++kk) o[kk] = o[kk] * corr + p * v[kk];
    m = nm;
  }
  bf16* orow = out + (bi * d.t + i) * d.c + h * d.hd;
#pragma unroll
  for (int kk = 0; kk < kMaxPerLane; ++kk) {
    const int64_t dd = lane + kk * kWarp;
    if (dd < d.hd) orow[dd] = B(o[kk] / l);
  }
  if (lane == 0) lse[(bi * d.nh + h) * d.t + i] = m + logf(l);
}

// D_i = dO_i . O_i
__global__ void RowDotKernel(float* dsum, const bf16* dout, const bf16* out, Dims d) {
  int64_t bi, h, i;
  if (!RowOfWarp(d, &bi, &h, &i)) return;
  float a[kMaxPerLane], b[kMaxPerLane];
  const int64_t off = (bi * d.t + i) * d.c + h * d.hd;
  Load(a, dout + off, d.hd);
  Load(b, out + off, d.hd);
  const float s = Dot(a, b);
  if (threadIdx.x % kWarp == 0) dsum[(bi * d.nh + h) * d.t + i] = s;
}

__device__ __forceinline__ void Store(bf16* p, const float* r, int64_t hd, float mul) {
  const int lane = threadIdx.x % kWarp;
#pragma unroll
  for (int k = 0; k < kMaxPerLane; ++k) {
    const int64_t dd = lane + k * kWarp;
    if (dd < hd) p[dd] = B(r[k] * mul);
  }
}

// dQ_i = s * sum_{j<=i} dS_ij k_j
__global__ void DqKernel(bf16* dqkv, const bf16* dout, const float* lse, const float* dsum, const bf16* qkv, Dims d) {
  int64_t bi, h, i;
  if (!RowOfWarp(d, &bi, &h, &i)) return;
  float q[kMaxPerLane], k[kMaxPerLane], v[kMaxPerLane], go[kMaxPerLane], dq[kMaxPerLane] = {};
  Load(q, Part(qkv, d, bi, i, h, 0), d.hd);
  Load(go, dout + (bi * d.t + i) * d.c + h * d.hd, d.hd);
  const int64_t row = (bi * d.nh + h) * d.t + i;
  const float li = lse[row], di = dsum[row];
  for (int64_t j = 0; j <= i; ++j) {
    Load(k, Part(qkv, d, bi, j, h, 1), d.hd);
    Load(v, Part(qkv, d, bi, j, h, 2), d.hd);
    const float p = __expf(d.scale * Dot(q, k) - li);
    const float ds = p * (Dot(go, v) - di);
#pragma unroll
    for (int kk = 0; kk < kMaxPerLane; ++kk) dq[kk] += ds * k[kk];
  }
  Store(dqkv + (bi * d.t + i) * 3 * d.c + h * d.hd, dq, d.hd, d.scale);
}

// For key row j: dV_j = sum_{i>=j} P_ij dO_i;  dK_j = s * sum_{i>=j} dS_ij q_i
__global__ void DkvKernel(bf16* dqkv, const bf16* dout, const float* lse, const float* dsum, const bf16* qkv, Dims d) {
  int64_t bi, h, j;
  if (!RowOfWarp(d, &bi, &h, &j)) return;
  float q[kMaxPerLane], k[kMaxPerLane], v[kMaxPerLane], go[kMaxPerLane];
  float dk[kMaxPerLane] = {}, dv[kMaxPerLane] = {};
  Load(k, Part(qkv, d, bi, j, h, 1), d.hd);
  Load(v, Part(qkv, d, bi, j, h, 2), d.hd);
  for (int64_t i = j; i < d.t; ++i) {
    Load(q, Part(qkv, d, bi, i, h, 0), d.hd);
    Load(go, dout + (bi * d.t + i) * d.c + h * d.hd, d.hd);
    const int64_t row = (bi * d.nh + h) * d.t + i;
    const float p = __expf(d.scale * Dot(q, k) - lse[row]);
    const float ds = p * (Dot(go, v) - dsum[row]);
#pragma unroll
    for (int kk = 0; kk < kMaxPerLane; ++kk) {
      dv[kk] += p * go[kk];
      dk[kk] += ds * q[kk];
    }
  }
  bf16* base = dqkv + (bi * d.t + j) * 3 * d.c + h * d.hd;
  Store(base + d.c, dk, d.hd, d.scale);
  Store(base + 2 * d.c, dv, d.hd, 1.0f);
}

Dims MakeDims(int64_t b, int64_t t, int64_t nh, int64_t hd) {
  return Dims{b, t, nh, hd, nh * hd, static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)))};
}

int64_t Blocks(const Dims& d) { return CeilDiv(d.b * d.nh * d.t, kWarpsPerBlock); }

}  // namespace

void AttentionForward(bf16* out, float* lse, const bf16* qkv, int64_t b, int64_t t, int64_t nh, int64_t hd,
                      cudaStream_t stream) {
  const Dims d = MakeDims(b, t, nh, hd);
  if (d.b * d.nh * d.t == 0) return;
  ForwardKernel<<<Blocks(d), kWarpsPerBlock * kWarp, 0, stream>>>(out, lse, qkv, d);
}

void AttentionBackward(bf16* dqkv, const bf16* dout, const bf16* out, const float* lse, const bf16* qkv, int64_t b,
                       int64_t t, int64_t nh, int64_t hd, float* scratch, cudaStream_t stream) {
  const Dims d = MakeDims(b, t, nh, hd);
  if (d.b * d.nh * d.t == 0) return;
  const int threads = kWarpsPerBlock * kWarp;
  RowDotKernel<<<Blocks(d), threads, 0, stream>>>(scratch, dout, out, d);
  DqKernel<<<Blocks(d), threads, 0, stream>>>(dqkv, dout, lse, scratch, qkv, d);
  DkvKernel<<<Blocks(d), threads, 0, stream>>>(dqkv, dout, lse, scratch, qkv, d);
}

}  // namespace ogai::kernels::cuda
