// A file that appears whole or not at all: written under a temporary name in the same
// folder, fsync-ed and renamed over `path` on Commit(). Destroyed without Commit(), it
// leaves nothing behind, so a killed or failed run never leaves a half-written file under
// the real name.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace ogai::data {

class AtomicFile {
 public:
  // `durable`: fsync before the rename (off for scratch files whose loss only means redoing work).
  static Result<std::unique_ptr<AtomicFile>> Create(const std::string& path, bool durable = true);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  Status Write(const void* data, size_t n);
  Status Write(std::string_view s) { return Write(s.data(), s.size()); }
  Status Commit();
  const std::string& path() const { return path_; }

 private:
  AtomicFile() = default;
  std::string path_, tmp_;
  FILE* f_ = nullptr;
  bool durable_ = true;
};

// The whole of `data` into `path`, atomically.
Status WriteFileAtomic(const std::string& path, std::string_view data, bool durable = true);

}  // namespace ogai::data
