// LayerNorm on the GPU, with the residual add fused in: the maths of kernels/cpu/layernorm.h.
//
//   mean = sum(x)/C;  rstd = 1/sqrt(sum((x-mean)^2)/C + eps);  y = (x - mean) * rstd * w + b
//   ResidualLayerNormForward: x = residual_in + inp is written to residual_out, then y = LN(x)
//     (one read of each input, one write of each output: the add costs no extra pass).
// Backward, with xhat = (x - mean) * rstd and g = dy * w:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))        (accumulated into dinp, bf16)
//   dw (+)= sum over rows of dy * xhat;   db (+)= sum over rows of dy   (fp32)
// dw/db: each block sums a fixed chunk of rows into `scratch`, a second kernel adds the
// chunks in order, so the bits do not vary between runs. The residual stream's gradient is
// the sum of the two branches' (the caller passes the same dinp to both backward calls).
// One block per row, statistics in fp32; C up to 8192.
#pragma once

#include <cstdint>

#include "kernels/cuda/scratch.h"
#include "kernels/cuda/types.h"

namespace ogai::kernels::cuda {

void LayerNormForward(bf16* out, float* mean, float* rstd, const bf16* inp, const bf16* w, const bf16* b, int64_t n,
                      int64_t c, cudaStream_t stream);

void ResidualLayerNormForward(bf16* residual_out, bf16* out, float* mean, float* rstd, const bf16* residual_in,
                              const bf16* inp, const bf16* w, const bf16* b, int64_t n, int64_t c, cudaStream_t stream);

// scratch: LayerNormBackwardScratch(n, c) floats (scratch.h).

void LayerNormBackward(bf16* dinp, float* dw, float* db, const bf16* dout, const bf16* inp, const bf16* w,
                       const float* mean, const float* rstd, int64_t n, int64_t c, bool accumulate_params,
                       float* scratch, cudaStream_t stream);

}  // namespace ogai::kernels::cuda
