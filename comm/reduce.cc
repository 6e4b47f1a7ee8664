#include "comm/reduce.h"

#include <bit>
#include <cstdint>

namespace ogai::comm {
namespace {

struct SumOp {
  static float Apply(float x, float y) { return x + y; }
};
struct MaxOp {
  static float Apply(float x, float y) { return x > y ? x : y; }
};
struct MinOp {
  static float Apply(float x, float y) { return x < y ? x : y; }
};

template <typename Op>
void ReduceF32(float* dst, const float* a, const float* b, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = Op::Apply(a[i], b[i]);
}

inline float Bf16Load(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }
inline uint16_t Bf16Store(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  uint32_t nan = (u >> 16) | 0x40u;
  return static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

template <typename Op>
void ReduceBf16(uint16_t* dst, const uint16_t* a, const uint16_t* b, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = Bf16Store(Op::Apply(Bf16Load(a[i]), Bf16Load(b[i])));
}

template <typename Op>
void ReduceF16(_Float16* dst, const _Float16* a, const _Float16* b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    dst[i] = static_cast<_Float16>(Op::Apply(static_cast<float>(a[i]), static_cast<float>(b[i])));
  }
}

template <typename Op>
void ReduceTyped(void* dst, const void* a, const void* b, size_t n, DataType dtype) {
  switch (dtype) {
    case DataType::kFloat32:
      ReduceF32<Op>(static_cast<float*>(dst), static_cast<const float*>(a), static_cast<const float*>(b), n);
      return;
    case DataType::kBFloat16:
      ReduceBf16<Op>(static_cast<uint16_t*>(dst), static_cast<const uint16_t*>(a), static_cast<const uint16_t*>(b), n);
      return;
    case DataType::kFloat16:
      ReduceF16<Op>(static_cast<_Float16*>(dst), static_cast<const _Float16*>(a), static_cast<const _Float16*>(b), n);
      return;
  }
}

}  // namespace

void Reduce(void* dst, const void* a, const void* b, size_t count, DataType dtype, ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kAvg: ReduceTyped<SumOp>(dst, a, b, count, dtype); return;
    case ReduceOp::kMax: ReduceTyped<MaxOp>(dst, a, b, count, dtype); return;
    case ReduceOp::kMin: ReduceTyped<MinOp>(dst, a, b, count, dtype); return;
  }
}

void DivideInPlace(void* buf, size_t count, DataType dtype, int divisor) {
  const float d = static_cast<float>(divisor);
  switch (dtype) {
    case DataType::kFloat32: {
      float* p = static_cast<float*>(buf);
      for (size_t i = 0; i < count; ++i) p[i] = p[i] / d;
      return;
    }
    case DataType::kBFloat16: {
      uint16_t* p = static_cast<uint16_t*>(buf);
      for (size_t i = 0; i < count; ++i) p[i] = Bf16Store(Bf16Load(p[i]) / d);
      return;
    }
    case DataType::kFloat16: {
      _Float16* p = static_cast<_Float16*>(buf);
      for (size_t i = 0; i < count; ++i) p[i] = static_cast<_Float16>(static_cast<float>(p[i]) / d);
      return;
    }
  }
}

}  // namespace ogai::comm
