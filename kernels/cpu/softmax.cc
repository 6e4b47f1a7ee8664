#include "kernels/cpu/softmax.h"

#include <cmath>

#include "kernels/cpu/vec_math.h"

namespace ogai::kernels {

void SoftmaxForward(float* out, const float* inp, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = inp + r * cols;
    float* y = out + r * cols;
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < cols; ++j) mx = x[j] > mx ? x[j] : mx;
    float s = 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      y[j] = FastExp(x[j] - mx);
      s += y[j];
    }
    const float inv = 1.0f / s;
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) y[j] *= inv;
  }
}

void SoftmaxBackward(float* dinp, const float* out, const float* dout, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* y = out + r * cols;
    const float* dy = dout + r * cols;
    float* dx = dinp + r * cols;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int64_t j = 0; j < cols; ++j) dot += dy[j] * y[j];
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) dx[j] = y[j] * (dy[j] - dot);
  }
}

}  // namespace ogai::kernels
