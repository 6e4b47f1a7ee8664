// Packed token shards: the on-disk form of a tokenized corpus.
//
// Layout (little-endian), version 1:
//   bytes  0..7   magic "OGAITOKS"
//   bytes  8..11  uint32 version (1)
//   bytes 12..15  uint32 token dtype: 1 = uint16, 2 = uint32
//   bytes 16..23  uint64 token count
//   bytes 24..27  uint32 vocab size the tokens were made for (0 = not recorded)
//   bytes 28..31  uint32 CRC32C of bytes 0..27
//   bytes 32..63  reserved, zero
//   bytes 64..    the tokens
// A reader checks every field and says what is wrong and how to fix it (a truncated copy,
// a file that is not a shard, a shard from a newer ogai, tokens outside the model's vocab).
// docs/formats.md describes the format for other tools.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/crc32c.h"
#include "core/status.h"

namespace ogai::data {

constexpr char kShardMagic[8] = {'O', 'G', 'A', 'I', 'T', 'O', 'K', 'S'};
constexpr uint32_t kShardVersion = 1;
constexpr size_t kShardHeaderBytes = 64;

enum class TokenDType : uint32_t { kUInt16 = 1, kUInt32 = 2 };

// Writes atomically (temp file, fsync, rename). dtype is uint16 when every token < 65536.
Status WriteTokenShard(const std::string& path, std::span<const int32_t> tokens, uint32_t vocab_size);

// A read-only, memory-mapped shard.
class TokenShard {
 public:
  // `model_vocab` > 0 also checks that the shard's recorded vocab fits the model.
  static Result<std::unique_ptr<TokenShard>> Open(const std::string& path, uint32_t model_vocab = 0);
  ~TokenShard();
  TokenShard(const TokenShard&) = delete;
  TokenShard& operator=(const TokenShard&) = delete;

  int64_t size() const { return count_; }
  uint32_t vocab_size() const { return vocab_; }
  TokenDType dtype() const { return dtype_; }
  const std::string& path() const { return path_; }
  // Copies tokens [begin, begin + n) into out.
  void Read(int64_t begin, int64_t n, int32_t* out) const;

 private:
  TokenShard() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  const uint8_t* tokens_ = nullptr;
  int64_t count_ = 0;
  uint32_t vocab_ = 0;
  TokenDType dtype_ = TokenDType::kUInt16;
};

// CRC-32C of the shard header: the one implementation lives in core/crc32c.h.
using ::ogai::Crc32c;

}  // namespace ogai::data
