// Bias gradient on the GPU: the maths of BiasBackward in kernels/cpu/matmul.h.
//   dbias[N] (+)= column sums of dout[M,N]      (dout bf16, dbias fp32)
// Deterministic: each block sums a fixed chunk of rows of its columns into `scratch`, a second
// kernel adds the chunks in order (no atomics; cuBLASLt's BGRAD epilogue is not used because
// its reduction order is not documented).
#pragma once

#include <cstdint>

#include "kernels/cuda/scratch.h"
#include "kernels/cuda/types.h"

namespace ogai::kernels::cuda {

// scratch: BiasBackwardScratch(m, n) floats (scratch.h).

void BiasBackward(float* dbias, const bf16* dout, int64_t m, int64_t n, bool accumulate, float* scratch,
                  cudaStream_t stream);

}  // namespace ogai::kernels::cuda
