#include "dataproc/shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <vector>

#include "core/bytes.h"
#include "core/file_io.h"

namespace ogai::data {

Status WriteTokenShard(const std::string& path, std::span<const int32_t> tokens, uint32_t vocab_size) {
  int32_t max_tok = 0;
  for (int32_t t : tokens) {
    if (t < 0) return InvalidArgument("token " + std::to_string(t) + " is negative");
    max_tok = std::max(max_tok, t);
  }
  const TokenDType dtype = max_tok < 65536 ? TokenDType::kUInt16 : TokenDType::kUInt32;
  uint8_t header[kShardHeaderBytes] = {};
  std::memcpy(header, kShardMagic, 8);
  PutU32(header + 8, kShardVersion);
  PutU32(header + 12, static_cast<uint32_t>(dtype));
  PutU64(header + 16, tokens.size());
  PutU32(header + 24, vocab_size);
  PutU32(header + 28, Crc32c(header, 28));

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("creating " + tmp, errno);
  Status st = WriteAllFd(fd, header, sizeof(header), tmp);
  if (st.ok()) {
    if (dtype == TokenDType::kUInt16) {
      std::vector<uint16_t> buf(tokens.begin(), tokens.end());
      st = WriteAllFd(fd, buf.data(), buf.size() * 2, tmp);
    } else {
      st = WriteAllFd(fd, tokens.data(), tokens.size() * 4, tmp);
    }
  }
  if (st.ok() && ::fsync(fd) != 0) st = ErrnoError("fsync " + tmp, errno);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = ErrnoError("rename to " + path, errno);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

Result<std::unique_ptr<TokenShard>> TokenShard::Open(const std::string& path, uint32_t model_vocab) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return NotFound("token shard '" + path + "' does not exist; check data.paths, or pack the corpus first");
    }
    return ErrnoError("opening token shard '" + path + "'", errno);
  }
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) {
    int e = errno;
    ::close(fd);
    return ErrnoError("stat " + path, e);
  }
  const size_t bytes = static_cast<size_t>(sb.st_size);
  if (bytes < kShardHeaderBytes) {
    ::close(fd);
    return Corruption("'" + path + "' is " + std::to_string(bytes) +
                      " bytes, shorter than a token shard header (64); it is not an ogai shard "
                      "or was truncated — re-create it");
  }
  void* map = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  int map_errno = errno;
  ::close(fd);
  if (map == MAP_FAILED) return ErrnoError("mmap " + path, map_errno);
  std::unique_ptr<TokenShard> s(new TokenShard());
  s->path_ = path;
  s->map_ = map;
  s->map_bytes_ = bytes;
  const uint8_t* h = static_cast<const uint8_t*>(map);
  if (std::memcmp(h, kShardMagic, 8) != 0) {
    return Corruption("'" + path +
                      "' is not an ogai token shard (bad magic at byte 0); "
                      "data.paths must list files written by ogai's packer");
  }
  const uint32_t version = GetU32(h + 8);
  if (GetU32(h + 28) != Crc32c(h, 28)) {
    return Corruption("'" + path + "': header checksum mismatch (bytes 0..27 damaged); re-create the shard");
  }
  if (version != kShardVersion) {
    return NotSupported("'" + path + "' is token shard format version " + std::to_string(version) +
                        "; this ogai reads version " + std::to_string(kShardVersion) +
                        " — re-pack the corpus with this ogai, or upgrade ogai");
  }
  const uint32_t dt = GetU32(h + 12);
  if (dt != 1 && dt != 2) {
    return Corruption("'" + path + "': unknown token dtype " + std::to_string(dt) + " at byte 12");
  }
  s->dtype_ = static_cast<TokenDType>(dt);
  const uint64_t count = GetU64(h + 16);
  s->vocab_ = GetU32(h + 24);
  const size_t width = s->dtype_ == TokenDType::kUInt16 ? 2 : 4;
  // Compared by division: count * width could wrap (a header claiming 2^62 tokens in a
  // 400 KB file passed, and the reader ran off the mapping).
  if (bytes < kShardHeaderBytes || (bytes - kShardHeaderBytes) % width != 0 ||
      count != (bytes - kShardHeaderBytes) / width) {
    return Corruption("'" + path + "': header says " + std::to_string(count) + " tokens of " + std::to_string(width) +
                      " bytes but the file has " + std::to_string(bytes) +
                      " bytes; it was truncated, appended to or crafted — re-create it");
  }
  s->count_ = static_cast<int64_t>(count);
  if (model_vocab > 0 && s->vocab_ > model_vocab) {
    return InvalidArgument("'" + path + "' was tokenized for a vocabulary of " + std::to_string(s->vocab_) +
                           " but model.vocab is " + std::to_string(model_vocab) + "; raise model.vocab or re-tokenize");
  }
  s->tokens_ = h + kShardHeaderBytes;
  return s;
}

TokenShard::~TokenShard() {
  if (map_ != nullptr) ::munmap(map_, map_bytes_);
}

void TokenShard::Read(int64_t begin, int64_t n, int32_t* out) const {
  if (dtype_ == TokenDType::kUInt16) {
    const uint16_t* p = reinterpret_cast<const uint16_t*>(tokens_) + begin;
    for (int64_t i = 0; i < n; ++i) out[i] = p[i];
  } else {
    std::memcpy(out, reinterpret_cast<const uint32_t*>(tokens_) + begin, n * 4);
  }
}

}  // namespace ogai::data
