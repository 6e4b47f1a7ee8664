#include "core/status.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ogai {

const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotFound: return "NotFound";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kIoError: return "IoError";
    case Code::kCorruption: return "Corruption";
    case Code::kTimeout: return "Timeout";
    case Code::kUnavailable: return "Unavailable";
    case Code::kNotSupported: return "NotSupported";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kAborted: return "Aborted";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

std::string ProjectPath(const char* file) {
  // The path from the project root ("core/status.cc"), not the build machine's: the source
  // directory is stripped, and so are the "../" of a build that compiles relative paths
  // (ccache with CCACHE_BASEDIR does).
  std::string p(file);
  static const std::string root = OGAI_SOURCE_DIR;
  if (p.compare(0, root.size(), root) == 0) return p.substr(root.size());
  size_t i = 0;
  while (p.compare(i, 3, "../") == 0 || p.compare(i, 2, "./") == 0) i += p[i] == '.' && p[i + 1] == '.' ? 3 : 2;
  if (i > 0) return p.substr(i);
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

Status::Status(Code code, std::string msg, SourceLocation loc) : code_(code), msg_(std::move(msg)) {
  if (code_ != Code::kOk) where_ = ProjectPath(loc.file_name()) + ":" + std::to_string(loc.line());
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  Status s = *this;
  s.msg_ = context + ": " + msg_;
  return s;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + msg_;
}

std::string Status::ToDebugString() const {
  if (ok()) return "OK";
  return ToString() + " [at " + where_ + "]";
}

Status ErrnoError(const std::string& what, int errno_value, SourceLocation loc) {
  return Status(Code::kIoError, what + ": " + std::strerror(errno_value), loc);
}

void AbortOnErrorValue(const Status& status) {
  std::fprintf(stderr, "ogai: fatal: value() called on an error Result: %s\n", status.ToString().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace ogai
