// GELU, tanh approximation (GPT-2's):
//   y = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//   dy/dx = 0.5 (1 + tanh(u)) + 0.5 x (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
#pragma once

#include <cstdint>

namespace ogai::kernels {

void GeluForward(float* out, const float* inp, int64_t n);
// dinp = dout * gelu'(inp)  (overwrites; dinp may alias dout).
void GeluBackward(float* dinp, const float* inp, const float* dout, int64_t n);

// The same maths on the calling thread only (no OpenMP team; same bits as the two above), for
// work fused into a GEMM's blocks (MatmulForwardGelu, MatmulBackwardGelu).
void GeluForwardSpan(float* out, const float* inp, int64_t n);
void GeluBackwardSpan(float* dinp, const float* inp, const float* dout, int64_t n);

}  // namespace ogai::kernels
