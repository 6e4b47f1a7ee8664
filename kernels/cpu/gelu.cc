// Built with -ffp-contract=off (kernels/CMakeLists.txt): without FMA contraction the vector
// loops and their scalar remainders round alike, so the element-wise passes and the same maths
// fused into GEMM panels (the *Span functions, whose remainders fall elsewhere) give the same bits.
#include "kernels/cpu/gelu.h"

#include <cmath>

#include "core/profile.h"
#include "kernels/cpu/vec_math.h"

namespace ogai::kernels {
namespace {
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCoef = 0.044715f;

inline float Gelu(float x) {
  const float u = kSqrt2OverPi * (x + kCoef * x * x * x);
  return 0.5f * x * (1.0f + FastTanh(u));
}

inline float GeluGrad(float x) {
  const float u = kSqrt2OverPi * (x + kCoef * x * x * x);
  const float th = FastTanh(u);
  const float sech2 = 1.0f - th * th;
  return 0.5f * (1.0f + th) + 0.5f * x * sech2 * kSqrt2OverPi * (1.0f + 3.0f * kCoef * x * x);
}
}  // namespace

void GeluForward(float* out, const float* inp, int64_t n) {
  OGAI_PROFILE(kGelu);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = Gelu(inp[i]);
}

void GeluBackward(float* dinp, const float* inp, const float* dout, int64_t n) {
  OGAI_PROFILE(kGelu);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) dinp[i] = dout[i] * GeluGrad(inp[i]);
}

void GeluForwardSpan(float* out, const float* inp, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = Gelu(inp[i]);
}

void GeluBackwardSpan(float* dinp, const float* inp, const float* dout, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) dinp[i] = dout[i] * GeluGrad(inp[i]);
}

}  // namespace ogai::kernels
