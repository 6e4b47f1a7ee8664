// Row softmax over `cols`, numerically stable:
//   y_j = exp(x_j - max x) / sum_k exp(x_k - max x)
// Backward: dx_j = y_j (dy_j - sum_k dy_k y_k)
#pragma once

#include <cstdint>

namespace ogai::kernels {

void SoftmaxForward(float* out, const float* inp, int64_t rows, int64_t cols);
// dinp overwritten; may alias dout.
void SoftmaxBackward(float* dinp, const float* out, const float* dout, int64_t rows, int64_t cols);

}  // namespace ogai::kernels
