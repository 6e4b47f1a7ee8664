// The intermediate file stage 1 of `ogai-data prepare` writes per input file, and stage 2
// reads back: after the header ("OGAIPART", uint32 bands, uint32 signature size), one record
// per surviving document: uint64 exact hash, uint32 token count, uint64 band hashes,
// uint32 MinHash signature, int32 tokens (end-of-text included). Native byte order: the
// file lives only inside one run's work folder. The reader checks the header's sizes and each
// record's token count against the file before allocating (a damaged file is an error).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "dataproc/atomic_file.h"

namespace ogai::data {

struct PartRecord {
  uint64_t hash = 0;
  std::vector<uint64_t> bands;
  std::vector<uint32_t> sig;
  std::vector<int32_t> tokens;
};

class PartWriter {
 public:
  static Result<std::unique_ptr<PartWriter>> Create(const std::string& path, int bands, int sig_size);
  Status Add(const PartRecord& r);
  Status Commit() { return f_->Commit(); }

 private:
  std::unique_ptr<AtomicFile> f_;
};

class PartReader {
 public:
  static constexpr uint32_t kMaxBands = 64;        // dedup.bands' limit
  static constexpr uint32_t kMaxSignature = 1024;  // dedup.bands x dedup.rows' limit
  static Result<std::unique_ptr<PartReader>> Open(const std::string& path);
  ~PartReader();
  // The next record; tokens are read only when want_tokens (else skipped). False at the end.
  Result<bool> Next(PartRecord* r, bool want_tokens);

 private:
  std::string path_;
  FILE* f_ = nullptr;
  uint32_t bands_ = 0, sig_ = 0;
  int64_t size_ = 0;  // of the file, in bytes
};

}  // namespace ogai::data
