// Reading a corpus: input.paths expanded into files, each file read as a stream of bytes
// (.gz and .zst decompressed on the fly), cut into documents (plain text: the whole file or
// blocks between blank lines; JSON Lines: one field of each line).
//
// Errors name the file and say what to do: a path that does not exist, a folder that cannot
// be read, a truncated .gz or .zst, a binary file (a NUL byte), a line of JSON Lines that is
// not an object with the text field.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "dataproc/prepare_config.h"

namespace ogai::data {

struct InputFile {
  std::string path;
  int64_t bytes = 0;  // on disk
};

// Files of input.paths: each path a file, a folder (every file below it, recursively) or a
// glob; sorted, without repeats, so every rank sees the same list in the same order.
Result<std::vector<InputFile>> ExpandInputs(const std::vector<std::string>& paths);

// The decompressed bytes of a file.
class ByteStream {
 public:
  static Result<std::unique_ptr<ByteStream>> Open(const std::string& path);
  virtual ~ByteStream() = default;
  // Up to n bytes; 0 at the end.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  // Bytes of the file consumed so far (compressed).
  virtual int64_t raw_bytes() const = 0;
};

class DocReader {
 public:
  static Result<std::unique_ptr<DocReader>> Open(const std::string& path, const InputConfig& cfg);
  // The next document into *doc; false at the end of the file.
  Result<bool> Next(std::string* doc);
  int64_t raw_bytes() const { return in_->raw_bytes(); }

 private:
  DocReader() = default;
  // The next line (without '\n') into *line; false at the end.
  Result<bool> NextLine(std::string* line);
  std::string path_;
  InputConfig cfg_;
  bool jsonl_ = false;
  std::unique_ptr<ByteStream> in_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  int64_t line_no_ = 0;
  int64_t offset_ = 0;  // decompressed bytes seen (for the binary check)
};

}  // namespace ogai::data
