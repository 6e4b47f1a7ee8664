// AdamW on the GPU with fp32 master weights and bf16 parameters: the maths of
// kernels/cpu/adamw.h on the master copy, then the bf16 parameters the forward reads:
//
//   g  = grad * grad_scale
//   m  = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
//   master -= lr * ( (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + wd * master )
//   param  = bf16(master)                       (round to nearest even)
//
// Global gradient norm: GradSumSquares writes sum(x^2) (fp64) to device memory. A fixed grid
// sums fixed slices; a second one-block kernel adds the block partials in order: the same bits
// on every run (the total differs from the CPU's in the last bits: another summation order).
#pragma once

#include <cstdint>

#include "kernels/cpu/adamw.h"  // AdamWStep: the same hyper-parameters as the CPU twin
#include "kernels/cuda/scratch.h"
#include "kernels/cuda/types.h"

namespace ogai::kernels::cuda {

void AdamWUpdate(float* master, bf16* param, float* grad, float* m, float* v, int64_t n, const AdamWStep& s, bool decay,
                 bool zero_grad, cudaStream_t stream);

// scratch: GradSumSquaresScratch() doubles (scratch.h).

// *out (device) = sum(x^2) over n floats; `accumulate` adds to *out (several tensors/buffers).
void GradSumSquares(double* out, const float* x, int64_t n, bool accumulate, double* scratch, cudaStream_t stream);

}  // namespace ogai::kernels::cuda
