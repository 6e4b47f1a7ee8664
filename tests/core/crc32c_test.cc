// Crc32c (three interleaved streams over 12 KiB groups on SSE4.2) against the byte-table
// version, at lengths around the group and block edges, at every alignment, and continued
// over split buffers.
#include "core/crc32c.h"

#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace ogai {
namespace {

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST(Crc32c, CheckValue) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32cPortable("123456789", 9), 0xE3069283u);
}

TEST(Crc32c, EqualsTheTableVersionAtEveryEdge) {
  const std::vector<uint8_t> data = RandomBytes(5 * 12288 + 64, 7);
  for (size_t n : {0, 1, 7, 8, 9, 4095, 4096, 4097, 12287, 12288, 12289, 24576, 24583, 36864 + 5, 5 * 12288 + 3}) {
    for (size_t off : {0, 1, 3, 7}) {
      ASSERT_EQ(Crc32c(data.data() + off, n), Crc32cPortable(data.data() + off, n)) << "n " << n << " off " << off;
      ASSERT_EQ(Crc32c(data.data() + off, n, 0x12345678u), Crc32cPortable(data.data() + off, n, 0x12345678u));
    }
  }
}

TEST(Crc32c, ContinuesOverSplitBuffers) {
  const std::vector<uint8_t> data = RandomBytes(1 << 20, 11);
  const uint32_t whole = Crc32c(data.data(), data.size());
  EXPECT_EQ(whole, Crc32cPortable(data.data(), data.size()));
  for (size_t cut : {size_t{1}, size_t{4096}, size_t{12289}, size_t{500000}}) {
    EXPECT_EQ(Crc32c(data.data() + cut, data.size() - cut, Crc32c(data.data(), cut)), whole) << "cut " << cut;
  }
}

}  // namespace
}  // namespace ogai
