// Rank output: split into lines, tagged, timestamped, copied to files, tail kept.
//
// Each rank's stdout and stderr arrive on pipes. Bytes are cut into whole lines and every line
// is written with a single write(2), so lines of different ranks never interleave mid-line.
// A line with no newline yet waits for the rest; it is flushed at end of stream, or in
// 64 KiB pieces if it grows past that.
//
// Formats (docs/launcher.md):
//   --tag-output          "[3] text"
//   --timestamp-output    "2025-01-31T12:00:00.123 text"
//   both                  "2025-01-31T12:00:00.123 [3] text"
//   --output-filename D   D/rank.3/stdout and D/rank.3/stderr get the lines too (with the
//                         timestamp when asked, without the tag)
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace ogai::launch {

struct OutputOptions {
  bool tag = false;
  bool timestamp = false;
  std::string dir;  // --output-filename; "" for none
};

// Cuts a byte stream into lines (without the '\n').
class LineSplitter {
 public:
  static constexpr size_t kMaxLine = 64 * 1024;
  using Sink = std::function<void(std::string_view line)>;
  void Append(const char* data, size_t n, const Sink& sink);
  // Flushes a trailing partial line, if any.
  void Finish(const Sink& sink);
  bool has_partial() const { return !pending_.empty(); }

 private:
  std::string pending_;
};

// "2025-01-31T12:00:00.123" in local time.
std::string TimestampNow();

// Builds the terminal form of a line (newline included).
std::string FormatLine(std::string_view line, int rank, const OutputOptions& opt, const std::string& timestamp);

// The last `capacity` lines of a stream.
class LineTail {
 public:
  explicit LineTail(size_t capacity = 20) : capacity_(capacity) {}
  void Add(std::string_view line);
  const std::deque<std::string>& lines() const { return lines_; }
  void Clear() { lines_.clear(); }

 private:
  size_t capacity_;
  std::deque<std::string> lines_;
};

// One rank's output files under --output-filename (append mode, so restarts add to them).
class RankFiles {
 public:
  RankFiles() = default;
  ~RankFiles();
  RankFiles(const RankFiles&) = delete;
  RankFiles& operator=(const RankFiles&) = delete;
  // Creates DIR/rank.N/ and opens stdout and stderr in it.
  Status Open(const std::string& dir, int rank);
  void Write(bool is_stderr, const std::string& text);

 private:
  int out_ = -1;
  int err_ = -1;
};

}  // namespace ogai::launch
