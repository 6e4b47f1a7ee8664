#include "kernels/cpu/embedding.h"

#include <algorithm>
#include <cstring>

#include "core/profile.h"

namespace ogai::kernels {

void EmbeddingLookup(float* out, const int32_t* tokens, const float* wte, int64_t n_tokens, int64_t c,
                     int64_t vocab_begin, int64_t vocab_end) {
  OGAI_PROFILE(kEmbedding);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n_tokens; ++i) {
    const int64_t tok = tokens[i];
    float* o = out + i * c;
    if (tok >= vocab_begin && tok < vocab_end) {
      std::memcpy(o, wte + (tok - vocab_begin) * c, sizeof(float) * c);
    } else {
      std::memset(o, 0, sizeof(float) * c);
    }
  }
}

void EmbeddingLookupBackward(float* dwte, const float* dout, const int32_t* tokens, int64_t n_tokens, int64_t c,
                             int64_t vocab_begin, int64_t vocab_end) {
  OGAI_PROFILE(kEmbedding);
  // Threads split the channels; each walks the tokens in order, so repeated tokens are
  // accumulated in the same order every run.
  constexpr int64_t kCols = 64;
  const int64_t blocks = (c + kCols - 1) / kCols;
#pragma omp parallel for schedule(static)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kCols, c1 = std::min(c, c0 + kCols);
    for (int64_t i = 0; i < n_tokens; ++i) {
      const int64_t tok = tokens[i];
      if (tok < vocab_begin || tok >= vocab_end) continue;
      float* d = dwte + (tok - vocab_begin) * c;
      const float* g = dout + i * c;
#pragma omp simd
      for (int64_t j = c0; j < c1; ++j) d[j] += g[j];
    }
  }
}

void PositionAdd(float* out, const float* wpe, int64_t b, int64_t t, int64_t c) {
  OGAI_PROFILE(kEmbedding);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t bi = 0; bi < b; ++bi) {
    for (int64_t ti = 0; ti < t; ++ti) {
      float* o = out + (bi * t + ti) * c;
      const float* p = wpe + ti * c;
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) o[j] += p[j];
    }
  }
}

void PositionAddBackward(float* dwpe, const float* dout, int64_t b, int64_t t, int64_t c, bool accumulate) {
  OGAI_PROFILE(kEmbedding);
#pragma omp parallel for schedule(static)
  for (int64_t ti = 0; ti < t; ++ti) {
    float* d = dwpe + ti * c;
    if (!accumulate) std::memset(d, 0, sizeof(float) * c);
    for (int64_t bi = 0; bi < b; ++bi) {
      const float* g = dout + (bi * t + ti) * c;
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) d[j] += g[j];
    }
  }
}

}  // namespace ogai::kernels
