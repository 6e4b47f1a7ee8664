// Element-wise reduction kernels used by the CPU backends.
//
//   dst[i] = a[i] (op) b[i],   0 <= i < count
//
// fp32 is computed in fp32; bf16 and fp16 are widened to fp32, combined, and rounded back
// once (round to nearest even), so a ring of n ranks rounds n-1 times per element: the same
// as NCCL. The loops are written so the compiler vectorises them (AVX-512/AVX2 with
// OGAI_NATIVE); bench/reduce_bench.cc measures them against memcpy.
//
// Determinism: each call is a pure element-wise function, so the result depends only on the
// order in which the algorithm combines ranks, never on timing.
#pragma once

#include <cstddef>

#include "comm/types.h"

namespace ogai::comm {

// kAvg reduces like kSum here; the algorithm calls DivideInPlace once at the end.
// dst may alias a or b (exactly, not partially).
void Reduce(void* dst, const void* a, const void* b, size_t count, DataType dtype, ReduceOp op);

// buf[i] /= divisor, in fp32 for bf16/fp16.
void DivideInPlace(void* buf, size_t count, DataType dtype, int divisor);

}  // namespace ogai::comm
