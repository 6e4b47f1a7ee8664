#include "kernels/cpu/matmul.h"

#include <algorithm>
#include <vector>

#include "core/profile.h"
#include "kernels/cpu/gelu.h"
#include "kernels/cpu/gemm.h"

namespace ogai::kernels {

namespace {
void AddBias(float* out, const float* bias, int64_t m, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    float* row = out + i * n;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) row[j] += bias[j];
  }
}
}  // namespace

void MatmulForward(float* out, const float* inp, const float* weight, const float* bias, int64_t m, int64_t k,
                   int64_t n) {
  if (bias == nullptr) {
    Sgemm(false, true, m, n, k, 1.0f, inp, k, weight, k, 0.0f, out, n);
    return;
  }
  SgemmThen(false, true, m, n, k, 1.0f, inp, k, weight, k, 0.0f, out, n,
            [=](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
              for (int64_t i = r0; i < r1; ++i) {
                float* row = out + i * n;
#pragma omp simd
                for (int64_t j = c0; j < c1; ++j) row[j] += bias[j];
              }
            });
}

void MatmulForwardResidual(float* out, const float* inp, const float* weight, const float* bias, const float* residual,
                           int64_t m, int64_t k, int64_t n) {
  SgemmThen(false, true, m, n, k, 1.0f, inp, k, weight, k, 0.0f, out, n,
            [=](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
              for (int64_t i = r0; i < r1; ++i) {
                float* row = out + i * n;
                const float* res = residual + i * n;
#pragma omp simd
                for (int64_t j = c0; j < c1; ++j) row[j] = res[j] + (row[j] + bias[j]);
              }
            });
}

void MatmulForwardGelu(float* pre, float* out, const float* inp, const float* weight, const float* bias, int64_t m,
                       int64_t k, int64_t n) {
  SgemmThen(false, true, m, n, k, 1.0f, inp, k, weight, k, 0.0f, pre, n,
            [=](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
              for (int64_t i = r0; i < r1; ++i) {
                float* row = pre + i * n;
                if (bias != nullptr) {
#pragma omp simd
                  for (int64_t j = c0; j < c1; ++j) row[j] += bias[j];
                }
                GeluForwardSpan(out + i * n + c0, row + c0, c1 - c0);
              }
            });
}

void MatmulBackwardGelu(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* gelu_inp, int64_t m, int64_t k, int64_t n,
                        bool accumulate_dweight) {
  if (dinp != nullptr) {
    SgemmThen(false, false, m, k, n, 1.0f, dout, n, weight, k, 0.0f, dinp, k,
              [=](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
                for (int64_t i = r0; i < r1; ++i) {
                  GeluBackwardSpan(dinp + i * k + c0, gelu_inp + i * k + c0, dinp + i * k + c0, c1 - c0);
                }
              });
  }
  MatmulBackward(nullptr, dweight, dbias, dout, inp, weight, m, k, n, false, accumulate_dweight);
}

void MatmulForwardBf16(float* out, const float* inp, const bf16_t* weight, const float* bias, int64_t m, int64_t k,
                       int64_t n) {
  bf16_t* x = Bf16Scratch(0, m * k);
  ToBf16(x, inp, m * k);
  GemmBf16(false, true, m, n, k, 1.0f, x, k, weight, k, 0.0f, out, n);
  if (bias != nullptr) AddBias(out, bias, m, n);
}

void MatmulBackwardBf16(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const bf16_t* weight, int64_t m, int64_t k, int64_t n, bool accumulate_dinp,
                        bool accumulate_dweight) {
  bf16_t* g = Bf16Scratch(1, m * n);
  ToBf16(g, dout, m * n);
  if (dinp != nullptr) {
    GemmBf16(false, false, m, k, n, 1.0f, g, n, weight, k, accumulate_dinp ? 1.0f : 0.0f, dinp, k);
  }
  if (dweight != nullptr) {
    bf16_t* x = Bf16Scratch(0, m * k);
    ToBf16(x, inp, m * k);
    GemmBf16(true, false, n, k, m, 1.0f, g, n, x, k, accumulate_dweight ? 1.0f : 0.0f, dweight, k);
  }
  if (dbias != nullptr) BiasBackward(dbias, dout, m, n, accumulate_dweight);
}

void BiasBackward(float* dbias, const float* dout, int64_t m, int64_t n, bool accumulate) {
  OGAI_PROFILE(kElementwise);
  // Rows are summed in fixed chunks of kRows, then the chunk sums in order: the result does
  // not depend on how many threads ran.
  constexpr int64_t kRows = 64;
  const int64_t chunks = (m + kRows - 1) / kRows;
  std::vector<float> partial(static_cast<size_t>(std::max<int64_t>(chunks, 1) * n), 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    float* acc = partial.data() + c * n;
    const int64_t end = std::min(m, (c + 1) * kRows);
    for (int64_t i = c * kRows; i < end; ++i) {
      const float* row = dout + i * n;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) acc[j] += row[j];
    }
  }
#pragma omp parallel for schedule(static)
  for (int64_t j = 0; j < n; ++j) {
    float s = 0.0f;
    for (int64_t c = 0; c < chunks; ++c) s += partial[c * n + j];
    dbias[j] = accumulate ? dbias[j] + s : s;
  }
}

void MatmulBackward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                    int64_t m, int64_t k, int64_t n, bool accumulate_dinp, bool accumulate_dweight) {
  if (dinp != nullptr) {
    Sgemm(false, false, m, k, n, 1.0f, dout, n, weight, k, accumulate_dinp ? 1.0f : 0.0f, dinp, k);
  }
  if (dweight != nullptr) {
    Sgemm(true, false, n, k, m, 1.0f, dout, n, inp, k, accumulate_dweight ? 1.0f : 0.0f, dweight, k);
  }
  if (dbias != nullptr) BiasBackward(dbias, dout, m, n, accumulate_dweight);
}

}  // namespace ogai::kernels
