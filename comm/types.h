// Element types and reduction operators the collectives understand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace ogai::comm {

enum class DataType : int {
  kFloat32 = 0,
  kBFloat16,
  kFloat16,  // IEEE half; reduced in fp32 like bf16
};

enum class ReduceOp : int {
  kSum = 0,
  kAvg,  // sum, then divided by the group size (in fp32 for bf16/fp16)
  kMax,
  kMin,
};

size_t DataTypeSize(DataType t);
const char* DataTypeName(DataType t);                  // "float", "bfloat16", "half" (nccl-tests' names)
const char* ReduceOpName(ReduceOp op);                 // "sum", "avg", "max", "min"
Result<DataType> ParseDataType(const std::string& s);  // also accepts fp32, bf16, fp16
Result<ReduceOp> ParseReduceOp(const std::string& s);

// bf16 <-> fp32 (round to nearest even; NaN stays NaN).
inline float Bf16ToFloat(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &u, sizeof(f));
  return f;
}
uint16_t FloatToBf16(float f);

}  // namespace ogai::comm
