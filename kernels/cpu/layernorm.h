// LayerNorm over the last dimension (C), per row:
//
//   mean = sum(x)/C;  rstd = 1/sqrt(sum((x-mean)^2)/C + eps)
//   y    = (x - mean) * rstd * w + b
//
// Backward, with xhat = (x - mean) * rstd and g = dy * w:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))        (accumulated into dinp)
//   dw += sum over rows of dy * xhat;   db += sum over rows of dy
// dw/db are summed in fixed row chunks, so the bits do not depend on the thread count.
#pragma once

#include <cstdint>

namespace ogai::kernels {

constexpr float kLayerNormEps = 1e-5f;

void LayerNormForward(float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b, int64_t n,
                      int64_t c);

// dinp is accumulated (+=); dw and db are accumulated (+=) when `accumulate_params`, else
// overwritten.
void LayerNormBackward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w,
                       const float* mean, const float* rstd, int64_t n, int64_t c, bool accumulate_params = true);

}  // namespace ogai::kernels
