// exp and tanh written so that the compiler vectorises them inside `#pragma omp simd`
// loops (libm's expf/tanhf are scalar calls unless -ffast-math, which ogai does not use).
// They are defined here, in the header, because they must inline into those loops.
//
// Exp: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite, ln2 split in two), e^r by its Taylor
// series to r^7 (truncation < 6e-9 relative), times 2^n built in the exponent bits.
// Relative error about 2 ulp over [-87, 88]; below -87.3 the result is 0, above 88.7 it
// saturates at FLT_MAX-ish range (the callers subtract a row maximum first).
// Tanh: 1 - 2 / (e^(2u) + 1), u clamped to [-9, 9] (tanh(9) rounds to 1 in fp32); absolute
// error about 1e-7, which is what GELU's 0.5 x (1 + tanh) needs.
#pragma once

#include <cstdint>
#include <cstring>

namespace ogai::kernels {

#pragma omp declare simd
inline float FastExp(float x) {
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693145751953125f;
  const float kLn2Lo = 1.428606765330187045e-06f;
  const float kShift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const bool underflow = x < -87.3f;
  x = x > 88.7f ? 88.7f : (x < -87.3f ? -87.3f : x);
  const float t = x * kLog2e + kShift;
  const float n = t - kShift;
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t e = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &e, sizeof(scale));
  return underflow ? 0.0f : p * scale;
}

#pragma omp declare simd
inline float FastTanh(float u) {
  u = u > 9.0f ? 9.0f : (u < -9.0f ? -9.0f : u);
  return 1.0f - 2.0f / (FastExp(2.0f * u) + 1.0f);
}

}  // namespace ogai::kernels
