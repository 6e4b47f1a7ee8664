// Residual connection: out = a + b. Backward: da += dout, db += dout.
#pragma once

#include <cstdint>

namespace ogai::kernels {

void ResidualForward(float* out, const float* a, const float* b, int64_t n);
// Accumulates dout into each non-null target.
void ResidualBackward(float* da, float* db, const float* dout, int64_t n);

}  // namespace ogai::kernels
