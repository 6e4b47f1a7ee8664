// Little-endian fixed-width fields in byte buffers (file headers): the host order, which is
// little-endian on every machine ogai runs on (x86-64, aarch64).
#pragma once

#include <cstdint>
#include <cstring>

namespace ogai {

inline void PutU32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void PutU64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint32_t GetU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t GetU64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace ogai
