#include "kernels/cpu/layernorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/profile.h"

namespace ogai::kernels {

void LayerNormForward(float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b, int64_t n,
                      int64_t c) {
  OGAI_PROFILE(kLayerNorm);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float* x = inp + i * c;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < c; ++j) s += x[j];
    const float m = s / static_cast<float>(c);
    float v = 0.0f;
#pragma omp simd reduction(+ : v)
    for (int64_t j = 0; j < c; ++j) {
      const float d = x[j] - m;
      v += d * d;
    }
    const float r = 1.0f / std::sqrt(v / static_cast<float>(c) + kLayerNormEps);
    float* y = out + i * c;
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) y[j] = (x[j] - m) * r * w[j] + b[j];
    mean[i] = m;
    rstd[i] = r;
  }
}

void LayerNormBackward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w,
                       const float* mean, const float* rstd, int64_t n, int64_t c, bool accumulate_params) {
  OGAI_PROFILE(kLayerNorm);
  constexpr int64_t kRows = 32;
  const int64_t chunks = (n + kRows - 1) / kRows;
  std::vector<float> pw(static_cast<size_t>(std::max<int64_t>(chunks, 1) * c), 0.0f);
  std::vector<float> pb(pw.size(), 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < chunks; ++ch) {
    float* accw = pw.data() + ch * c;
    float* accb = pb.data() + ch * c;
    const int64_t end = std::min(n, (ch + 1) * kRows);
    for (int64_t i = ch * kRows; i < end; ++i) {
      const float* x = inp + i * c;
      const float* dy = dout + i * c;
      const float m = mean[i], r = rstd[i];
      float sum_g = 0.0f, sum_gx = 0.0f;
#pragma omp simd reduction(+ : sum_g, sum_gx)
      for (int64_t j = 0; j < c; ++j) {
        const float xhat = (x[j] - m) * r;
        const float g = dy[j] * w[j];
        sum_g += g;
        sum_gx += g * xhat;
      }
      const float mg = sum_g / static_cast<float>(c);
      const float mgx = sum_gx / static_cast<float>(c);
      float* dx = dinp + i * c;
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) {
        const float xhat = (x[j] - m) * r;
        const float g = dy[j] * w[j];
        dx[j] += r * (g - mg - xhat * mgx);
        accw[j] += dy[j] * xhat;
        accb[j] += dy[j];
      }
    }
  }
#pragma omp parallel for schedule(static)
  for (int64_t j = 0; j < c; ++j) {
    float sw = 0.0f, sb = 0.0f;
    for (int64_t ch = 0; ch < chunks; ++ch) {
      sw += pw[ch * c + j];
      sb += pb[ch * c + j];
    }
    dw[j] = accumulate_params ? dw[j] + sw : sw;
    db[j] = accumulate_params ? db[j] + sb : sb;
  }
}

}  // namespace ogai::kernels
