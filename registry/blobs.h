// The content-addressed blob folder: every tensor (and tokenizer file) is stored once under
// the SHA-256 of its bytes, ROOT/blobs/ab/abcdef... (the first two hex digits as a folder).
//
// SHA-256 (OpenSSL) rather than a faster non-cryptographic hash (xxHash): a blob id is the
// only thing that says two versions share weights, so a collision would silently swap a
// model's weights; SHA-256 makes that practically impossible even for crafted input (import
// takes files from elsewhere), it is also the id the Hugging Face Hub (Git LFS) gives files,
// and with the CPU's SHA extensions it hashes at over 1 GB/s, faster than the disk writes.
//
// Put writes ROOT/tmp/<unique>, fsyncs it, renames it to its final name and fsyncs the
// folder; a blob that already exists is not written again. A crash leaves at most a temp
// file or a blob no version references yet; `ogai-model gc` removes both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::registry {

std::string Sha256Hex(const void* data, size_t n);

class BlobStore {
 public:
  explicit BlobStore(std::string root) : root_(std::move(root)) {}
  std::string PathOf(const std::string& hash) const;
  // Stores `data` under `hash` (the caller's Sha256Hex of it). Sets *written when it was new.
  Status Put(const std::string& hash, const void* data, size_t n, bool* written);
  // Stores the bytes of the file at `path` (a tokenizer file); returns their hash. A file that
  // cannot be read is NotFound naming it.
  Result<std::string> PutFile(const std::string& path);
  // The blob's bytes, checked against its hash (a damaged blob is Corruption naming it).
  Result<std::string> Get(const std::string& hash) const;
  // Every stored blob's hash, and every leftover temp file's path.
  Result<std::vector<std::string>> List() const;
  Result<std::vector<std::string>> TempFiles() const;
  Status Remove(const std::string& hash);

 private:
  std::string root_;  // the registry root: blobs/ and tmp/ are under it
};

}  // namespace ogai::registry
