#include "kernels/cpu/residual.h"

#include "core/profile.h"

namespace ogai::kernels {

void ResidualForward(float* out, const float* a, const float* b, int64_t n) {
  OGAI_PROFILE(kElementwise);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void ResidualBackward(float* da, float* db, const float* dout, int64_t n) {
  OGAI_PROFILE(kElementwise);
  if (da != nullptr) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) da[i] += dout[i];
  }
  if (db != nullptr) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) db[i] += dout[i];
  }
}

}  // namespace ogai::kernels
