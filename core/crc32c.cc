#include "core/crc32c.h"

#include <array>
#include <cstring>

namespace ogai {
#if !defined(__SSE4_2__)
namespace {

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}

}  // namespace
#endif

uint32_t Crc32c(const void* data, size_t n, uint32_t crc) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
#if defined(__SSE4_2__)
  // Three independent streams would be faster still; one stream runs at ~8 bytes per
  // 3 cycles, well above what a disk takes.
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    crc = static_cast<uint32_t>(__builtin_ia32_crc32di(crc, v));
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    crc = __builtin_ia32_crc32qi(crc, *p++);
    --n;
  }
#else
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  while (n-- > 0) crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
#endif
  return ~crc;
}

}  // namespace ogai
