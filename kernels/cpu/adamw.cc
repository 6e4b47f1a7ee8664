#include "kernels/cpu/adamw.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/crc32c.h"
#include "core/profile.h"
#include "kernels/cpu/gemm_bf16.h"

namespace ogai::kernels {

namespace {

struct Coef {
  float b1, b2, c1, c2, lr, eps, scale, wd;
};
Coef Coefficients(const AdamWStep& s, bool decay) {
  return {s.beta1,
          s.beta2,
          1.0f / (1.0f - std::pow(s.beta1, static_cast<float>(s.step))),
          1.0f / (1.0f - std::pow(s.beta2, static_cast<float>(s.step))),
          s.lr,
          s.eps,
          s.grad_scale,
          decay ? s.weight_decay : 0.0f};
}

// One element: every loop below is this and nothing else, so all compute the same bits.
inline void Elem(float* param, float* grad, float* m, float* v, int64_t i, const Coef& k, bool zero_grad) {
  const float g = grad[i] * k.scale;
  const float mi = k.b1 * m[i] + (1.0f - k.b1) * g;
  const float vi = k.b2 * v[i] + (1.0f - k.b2) * g * g;
  m[i] = mi;
  v[i] = vi;
  const float mhat = mi * k.c1, vhat = vi * k.c2;
  param[i] -= k.lr * (mhat / (std::sqrt(vhat) + k.eps) + k.wd * param[i]);
  if (zero_grad) grad[i] = 0.0f;
}

// One pass over the tensor on the team's threads; kBf16 also writes the bf16 copy (a template
// so that the fp32 loop stays as it was).
template <bool kBf16>
void Update(float* param, float* grad, float* m, float* v, int64_t n, const AdamWStep& s, bool decay, bool zero_grad,
            uint16_t* param_bf16) {
  const Coef k = Coefficients(s, decay);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    Elem(param, grad, m, v, i, k, zero_grad);
    if constexpr (kBf16) param_bf16[i] = RoundToBf16(param[i]);
  }
}

// The same on the calling thread over [lo, hi) of a run.
template <bool kBf16>
void UpdateSerial(const AdamWRun& r, int64_t lo, int64_t hi, const Coef& k, bool zero_grad) {
  float *param = r.param, *grad = r.grad, *m = r.m, *v = r.v;
  uint16_t* b = r.param_bf16;
#pragma omp simd
  for (int64_t i = lo; i < hi; ++i) {
    Elem(param, grad, m, v, i, k, zero_grad);
    if constexpr (kBf16) b[i] = RoundToBf16(param[i]);
  }
}

// Copies n floats with streaming stores where dst is 64-byte aligned (the snapshot is not
// read again by this core: no cache lines fetched for it, none of the step's evicted).
void StreamCopy(float* dst, const float* src, int64_t n) {
#if defined(__AVX512F__)
  int64_t i = 0;
  while (i < n && (reinterpret_cast<uintptr_t>(dst + i) & 63) != 0) {
    dst[i] = src[i];
    ++i;
  }
  for (; i + 16 <= n; i += 16) _mm512_stream_ps(dst + i, _mm512_loadu_ps(src + i));
  for (; i < n; ++i) dst[i] = src[i];
#else
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
#endif
}

template <bool kBf16>
void UpdateRun(const AdamWRun& r, const AdamWStep& s, bool zero_grad) {
  const Coef k = Coefficients(s, r.decay);
  if (r.out_param == nullptr) {
    UpdateSerial<kBf16>(r, 0, r.n, k, zero_grad);
    return;
  }
  // Pieces of 4096 elements: updated, then (still in the cache) checksummed and streamed out.
  constexpr int64_t kPiece = 4096;
  uint32_t crc[3] = {0, 0, 0};
  for (int64_t o = 0; o < r.n; o += kPiece) {
    const int64_t e = std::min(r.n, o + kPiece);
    UpdateSerial<kBf16>(r, o, e, k, zero_grad);
    const size_t bytes = static_cast<size_t>(e - o) * sizeof(float);
    crc[0] = Crc32c(r.param + o, bytes, crc[0]);
    crc[1] = Crc32c(r.m + o, bytes, crc[1]);
    crc[2] = Crc32c(r.v + o, bytes, crc[2]);
    StreamCopy(r.out_param + o, r.param + o, e - o);
    StreamCopy(r.out_m + o, r.m + o, e - o);
    StreamCopy(r.out_v + o, r.v + o, e - o);
  }
  for (int j = 0; j < 3; ++j) *r.crc[j] = crc[j];
#if defined(__AVX512F__)
  _mm_sfence();  // the streamed stores are visible before the writer's thread reads them
#endif
}

}  // namespace

void AdamWUpdate(float* param, float* grad, float* m, float* v, int64_t n, const AdamWStep& s, bool decay,
                 bool zero_grad, uint16_t* param_bf16) {
  OGAI_PROFILE(kOptimizer);
  if (param_bf16 != nullptr) {
    Update<true>(param, grad, m, v, n, s, decay, zero_grad, param_bf16);
  } else {
    Update<false>(param, grad, m, v, n, s, decay, zero_grad, nullptr);
  }
}

void AdamWUpdateRuns(const std::vector<AdamWRun>& runs, const AdamWStep& s, bool zero_grad) {
  OGAI_PROFILE(kOptimizer);
  const int64_t count = static_cast<int64_t>(runs.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < count; ++i) {
    const AdamWRun& r = runs[static_cast<size_t>(i)];
    if (r.param_bf16 != nullptr) {
      UpdateRun<true>(r, s, zero_grad);
    } else {
      UpdateRun<false>(r, s, zero_grad);
    }
  }
}

double SumSquares(const float* x, int64_t n) {
  OGAI_PROFILE(kGradNorm);
  constexpr int64_t kChunk = 1 << 14;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<size_t>(std::max<int64_t>(chunks, 1)), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t end = std::min(n, (c + 1) * kChunk);
    float acc[16] = {0};
    int64_t i = c * kChunk;
    for (; i + 16 <= end; i += 16) {
#pragma omp simd
      for (int k = 0; k < 16; ++k) acc[k] += x[i + k] * x[i + k];
    }
    double s = 0.0;
    for (int k = 0; k < 16; ++k) s += acc[k];
    for (; i < end; ++i) s += static_cast<double>(x[i]) * x[i];
    part[c] = s;
  }
  double total = 0.0;
  for (double p : part) total += p;
  return total;
}

}  // namespace ogai::kernels
