#include "launcher/output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/file_io.h"
#include "launcher/process.h"

namespace ogai::launch {

void LineSplitter::Append(const char* data, size_t n, const Sink& sink) {
  size_t start = 0;
  for (size_t i = 0; i < n; ++i) {
    if (data[i] != '\n') continue;
    if (pending_.empty()) {
      sink(std::string_view(data + start, i - start));
    } else {
      pending_.append(data + start, i - start);
      sink(pending_);
      pending_.clear();
    }
    start = i + 1;
  }
  pending_.append(data + start, n - start);
  while (pending_.size() >= kMaxLine) {
    sink(std::string_view(pending_).substr(0, kMaxLine));
    pending_.erase(0, kMaxLine);
  }
}

void LineSplitter::Finish(const Sink& sink) {
  if (!pending_.empty()) {
    sink(pending_);
    pending_.clear();
  }
}

std::string TimestampNow() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  long ms =
      static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm;
  ::localtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ld", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::string FormatLine(std::string_view line, int rank, const OutputOptions& opt, const std::string& timestamp) {
  std::string s;
  s.reserve(line.size() + 40);
  if (opt.timestamp) {
    s += timestamp;
    s += ' ';
  }
  if (opt.tag) {
    s += '[';
    s += std::to_string(rank);
    s += "] ";
  }
  s.append(line.data(), line.size());
  s += '\n';
  return s;
}

void LineTail::Add(std::string_view line) {
  if (capacity_ == 0) return;
  if (lines_.size() == capacity_) lines_.pop_front();
  lines_.emplace_back(line.substr(0, 1000));
}

RankFiles::~RankFiles() {
  if (out_ >= 0) ::close(out_);
  if (err_ >= 0) ::close(err_);
}

Status RankFiles::Open(const std::string& dir, int rank) {
  std::string rdir = dir + "/rank." + std::to_string(rank);
  for (const std::string& d : {dir, rdir}) {
    if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError("--output-filename: cannot create folder '" + d + "'", errno);
    }
  }
  out_ = ::open((rdir + "/stdout").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out_ < 0) return ErrnoError("--output-filename: cannot open " + rdir + "/stdout", errno);
  err_ = ::open((rdir + "/stderr").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (err_ < 0) return ErrnoError("--output-filename: cannot open " + rdir + "/stderr", errno);
  return Status::Ok();
}

void RankFiles::Write(bool is_stderr, const std::string& text) {
  int fd = is_stderr ? err_ : out_;
  if (fd >= 0) WriteAll(fd, text);
}

}  // namespace ogai::launch
