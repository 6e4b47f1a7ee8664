// GELU on the GPU, tanh approximation (GPT-2's): the maths of kernels/cpu/gelu.h.
//   y = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//   dy/dx = 0.5 (1 + tanh(u)) + 0.5 x (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
// In the model the forward GELU is fused into the MLP-up GEMM's epilogue (gemm.h); these are
// the standalone forms (and the backward, which the epilogue does not do).
#pragma once

#include <cstdint>

#include "kernels/cuda/types.h"

namespace ogai::kernels::cuda {

void GeluForward(bf16* out, const bf16* inp, int64_t n, cudaStream_t stream);
// dinp = dout * gelu'(inp)  (overwrites; dinp may alias dout).
void GeluBackward(bf16* dinp, const bf16* inp, const bf16* dout, int64_t n, cudaStream_t stream);

}  // namespace ogai::kernels::cuda
