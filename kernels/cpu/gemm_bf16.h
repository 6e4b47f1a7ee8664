// bf16 GEMMs with fp32 accumulation, for train.precision=bf16 (mixed precision).
//
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C      (row-major; A, B bf16; C fp32)
//
// Through oneDNN's matmul primitive (bf16 source and weights, f32 destination; alpha as its
// output scale, beta as a sum post-op), which runs on AVX512-BF16 (vdpbf16ps) or AMX where the
// CPU has them and emulates bf16 on plain AVX-512 (slower than fp32 there). Primitives are
// created once per shape and cached. bf16 here is the upper half of an fp32 (8-bit mantissa),
// rounded to nearest even.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace ogai::kernels {

using bf16_t = uint16_t;

// bf16(x), round to nearest even (NaN stays NaN). Inline: it vectorises inside callers' loops.
#pragma omp declare simd
inline bf16_t RoundToBf16(float x) {
  uint32_t u;
  __builtin_memcpy(&u, &x, sizeof(u));
  const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  return static_cast<bf16_t>(nan ? ((u >> 16) | 0x40u) : rounded);
}

// dst[i] = RoundToBf16(src[i]); threaded.
void ToBf16(bf16_t* dst, const float* src, int64_t n);
float FromBf16(bf16_t x);

void GemmBf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const bf16_t* a, int64_t lda,
              const bf16_t* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Ok when oneDNN can run bf16 matmuls on this CPU (it needs AVX-512); otherwise an error that
// says so and names the fix (train.precision=fp32).
Status Bf16Available();
// What bf16 runs on here: "avx512_bf16", "amx", or "emulated (no AVX512-BF16)".
std::string Bf16Hardware();

// A per-thread scratch of at least n bf16 values (slot 0..3), reused across calls.
bf16_t* Bf16Scratch(int slot, int64_t n);

}  // namespace ogai::kernels
