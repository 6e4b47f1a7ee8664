#include "kernels/cpu/adamw.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/profile.h"
#include "kernels/cpu/gemm_bf16.h"

namespace ogai::kernels {

namespace {
// One pass over the tensor; kBf16 also writes the bf16 copy (a template so that the fp32 loop
// stays exactly as it was).
template <bool kBf16>
void Update(float* param, float* grad, float* m, float* v, int64_t n, const AdamWStep& s, bool decay, bool zero_grad,
            uint16_t* param_bf16) {
  const float b1 = s.beta1, b2 = s.beta2;
  const float c1 = 1.0f / (1.0f - std::pow(b1, static_cast<float>(s.step)));
  const float c2 = 1.0f / (1.0f - std::pow(b2, static_cast<float>(s.step)));
  const float lr = s.lr, eps = s.eps, scale = s.grad_scale;
  const float wd = decay ? s.weight_decay : 0.0f;
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] * scale;
    const float mi = b1 * m[i] + (1.0f - b1) * g;
    const float vi = b2 * v[i] + (1.0f - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float mhat = mi * c1, vhat = vi * c2;
    param[i] -= lr * (mhat / (std::sqrt(vhat) + eps) + wd * param[i]);
    if (zero_grad) grad[i] = 0.0f;
    if constexpr (kBf16) param_bf16[i] = RoundToBf16(param[i]);
  }
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
