#include "ckpt/staging_ring.h"

#include <algorithm>
#include <cstring>

#include "core/crc32c.h"

namespace ogai::ckpt {

uint32_t CopyWithCrc32c(uint8_t* dst, const uint8_t* src, size_t n) {
  constexpr size_t kPiece = 64 << 10;
  uint32_t crc = 0;
  for (size_t o = 0; o < n; o += kPiece) {
    const size_t m = std::min(kPiece, n - o);
    crc = Crc32c(src + o, m, crc);
    std::memcpy(dst + o, src + o, m);
  }
  return crc;
}

}  // namespace ogai::ckpt
