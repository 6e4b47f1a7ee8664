// A crafted token shard header (issue 12): a count of 2^62 + n uint32 tokens times 4 wraps
// to 4 n bytes, so the size check passed for a file of n tokens and the worker read far past
// the mapping. The header CRC is recomputed, so only the size check can catch it.
#include <cstring>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>

#include "core/crc32c.h"
#include "dataproc/shard.h"
#include "tests/util/job.h"

namespace ogai::data {
namespace {

TEST(ShardHeader, ACountThatWrapsTheSizeCheckIsRefused) {
  testing::TempDir d;
  const std::string path = d / "crafted.bin";
  std::vector<int32_t> toks(100000, 70000);  // above 65535: stored as uint32
  ASSERT_TRUE(WriteTokenShard(path, toks, 0).ok());
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    uint8_t h[28];
    f.read(reinterpret_cast<char*>(h), 28);
    const uint64_t count = (uint64_t{1} << 62) + toks.size();
    std::memcpy(h + 16, &count, 8);
    const uint32_t crc = Crc32c(h, 28);
    f.seekp(0);
    f.write(reinterpret_cast<const char*>(h), 28);
    f.write(reinterpret_cast<const char*>(&crc), 4);
  }
  auto s = TokenShard::Open(path);
  ASSERT_FALSE(s.ok()) << "opened a shard claiming " << (s.ok() ? (*s)->size() : 0) << " tokens";
  EXPECT_EQ(s.status().code(), Code::kCorruption);
  EXPECT_NE(s.status().message().find("header says 4611686018427487904 tokens"), std::string::npos)
      << s.status().message();
}

}  // namespace
}  // namespace ogai::data
