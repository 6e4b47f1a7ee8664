#include "kernels/cpu/crossentropy.h"

#include <cmath>

#include "core/profile.h"
#include "kernels/cpu/vec_math.h"

namespace ogai::kernels {

void RowMax(float* row_max, const float* logits, int64_t m, int64_t v) {
  OGAI_PROFILE(kCrossEntropy);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    const float* z = logits + i * v;
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < v; ++j) mx = z[j] > mx ? z[j] : mx;
    row_max[i] = mx;
  }
}

void RowSumExp(float* row_sum, const float* logits, const float* row_max, int64_t m, int64_t v) {
  OGAI_PROFILE(kCrossEntropy);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    const float* z = logits + i * v;
    const float mx = row_max[i];
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < v; ++j) s += FastExp(z[j] - mx);
    row_sum[i] = s;
  }
}

void TargetLogit(float* target_logit, const float* logits, const int32_t* targets, int64_t m, int64_t v,
                 int64_t vocab_begin) {
  for (int64_t i = 0; i < m; ++i) {
    const int64_t t = static_cast<int64_t>(targets[i]) - vocab_begin;
    target_logit[i] = (t >= 0 && t < v) ? logits[i * v + t] : 0.0f;
  }
}

void SoftmaxXentGrad(float* logits, const int32_t* targets, const float* row_max, const float* row_sum,
                     const float* scale, int64_t m, int64_t v, int64_t vocab_begin) {
  OGAI_PROFILE(kCrossEntropy);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    float* z = logits + i * v;
    const float mx = row_max[i];
    const float k = scale[i] / row_sum[i];
#pragma omp simd
    for (int64_t j = 0; j < v; ++j) z[j] = FastExp(z[j] - mx) * k;
    const int64_t t = static_cast<int64_t>(targets[i]) - vocab_begin;
    if (t >= 0 && t < v) z[t] -= scale[i];
  }
}

void CrossEntropyForward(float* losses, const float* logits, const int32_t* targets, int64_t m, int64_t v) {
  OGAI_PROFILE(kCrossEntropy);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    const float* z = logits + i * v;
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < v; ++j) mx = z[j] > mx ? z[j] : mx;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < v; ++j) s += FastExp(z[j] - mx);
    losses[i] = mx + std::log(s) - z[targets[i]];
  }
}

void CrossEntropyForwardBackward(float* losses, float* logits, const int32_t* targets, int64_t m, int64_t v,
                                 const float* dlogits_scale) {
  OGAI_PROFILE(kCrossEntropy);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    float* z = logits + i * v;
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < v; ++j) mx = z[j] > mx ? z[j] : mx;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < v; ++j) s += FastExp(z[j] - mx);
    const int32_t t = targets[i];
    losses[i] = mx + std::log(s) - z[t];
    if (dlogits_scale != nullptr) {
      const float k = dlogits_scale[i] / s;
#pragma omp simd
      for (int64_t j = 0; j < v; ++j) z[j] = FastExp(z[j] - mx) * k;
      z[t] -= dlogits_scale[i];
    }
  }
}

}  // namespace ogai::kernels
