#include "comm/types.h"

#include <cstring>

namespace ogai::comm {

size_t DataTypeSize(DataType t) {
  switch (t) {
    case DataType::kFloat32: return 4;
    case DataType::kBFloat16: return 2;
    case DataType::kFloat16: return 2;
  }
  return 0;
}

const char* DataTypeName(DataType t) {
  switch (t) {
    case DataType::kFloat32: return "float";
    case DataType::kBFloat16: return "bfloat16";
    case DataType::kFloat16: return "half";
  }
  return "?";
}

const char* ReduceOpName(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kAvg: return "avg";
    case ReduceOp::kMax: return "max";
    case ReduceOp::kMin: return "min";
  }
  return "?";
}

Result<DataType> ParseDataType(const std::string& s) {
  if (s == "float" || s == "fp32" || s == "float32") return DataType::kFloat32;
  if (s == "bfloat16" || s == "bf16") return DataType::kBFloat16;
  if (s == "half" || s == "fp16" || s == "float16") return DataType::kFloat16;
  return InvalidArgument("unknown data type '" + s + "' (expected fp32, bf16 or fp16)");
}

Result<ReduceOp> ParseReduceOp(const std::string& s) {
  if (s == "sum") return ReduceOp::kSum;
  if (s == "avg") return ReduceOp::kAvg;
  if (s == "max") return ReduceOp::kMax;
  if (s == "min") return ReduceOp::kMin;
  return InvalidArgument("unknown reduce op '" + s + "' (expected sum, avg, max or min)");
}

uint16_t FloatToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

}  // namespace ogai::comm
