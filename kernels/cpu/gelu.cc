#include "kernels/cpu/gelu.h"

#include <cmath>

#include "core/profile.h"
#include "kernels/cpu/vec_math.h"

namespace ogai::kernels {
namespace {
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCoef = 0.044715f;
}  // namespace

void GeluForward(float* out, const float* inp, int64_t n) {
  OGAI_PROFILE(kGelu);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float x = inp[i];
    const float u = kSqrt2OverPi * (x + kCoef * x * x * x);
    out[i] = 0.5f * x * (1.0f + FastTanh(u));
  }
}

void GeluBackward(float* dinp, const float* inp, const float* dout, int64_t n) {
  OGAI_PROFILE(kGelu);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float x = inp[i];
    const float u = kSqrt2OverPi * (x + kCoef * x * x * x);
    const float th = FastTanh(u);
    const float sech2 = 1.0f - th * th;
    const float grad = 0.5f * (1.0f + th) + 0.5f * x * sech2 * kSqrt2OverPi * (1.0f + 3.0f * kCoef * x * x);
    dinp[i] = dout[i] * grad;
  }
}

}  // namespace ogai::kernels
