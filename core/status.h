// Status and Result<T>: how ogai says what went wrong and where.
//
// Library code never exits or throws across component boundaries for expected failures
// (bad input, I/O, timeouts, a dead peer). It returns a Status, or a Result<T> that holds
// either a value or a Status. The CLI edge prints Status::ToString() once and returns a
// non-zero exit code.
//
// A Status records the source location that created it (file:line), so a message that
// reaches a user can be traced back without a debugger. Context can be prepended while the
// error travels up: `return st.WithContext("loading train.yaml")`.
#pragma once

#include <optional>
#include <source_location>
#include <string>
#include <utility>
#include <variant>

namespace ogai {
// The caller's file and line. std::source_location where the compiler supports it; clang 14
// (the fuzzing build, scripts/fuzz.sh) lacks the builtin libstdc++'s needs, so there it is
// the same thing made of __builtin_FILE / __builtin_LINE.
#if defined(__cpp_lib_source_location)
using SourceLocation = std::source_location;
#else
struct SourceLocation {
  static constexpr SourceLocation current(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return SourceLocation{file, line};
  }
  constexpr const char* file_name() const { return file_; }
  constexpr unsigned line() const { return static_cast<unsigned>(line_); }
  const char* file_ = "";
  int line_ = 0;
};
#endif
}  // namespace ogai

namespace ogai {

enum class Code {
  kOk = 0,
  kInvalidArgument,  // the caller (user, config, flag) gave something wrong
  kNotFound,         // a file, key, rank or tensor that should exist does not
  kAlreadyExists,
  kIoError,           // the OS said no (open, read, write, fsync, socket)
  kCorruption,        // data on disk or on the wire fails its checks
  kTimeout,           // a blocking call ran past its deadline
  kUnavailable,       // a peer or service is gone or not reachable
  kNotSupported,      // valid, but ogai does not do this (yet)
  kPermissionDenied,  // wrong token, wrong credentials
  kAborted,           // cancelled on purpose (abort, shutdown, signal)
  kInternal,          // a bug in ogai
};

const char* CodeName(Code c);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string msg, SourceLocation loc = SourceLocation::current());

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  // "file.cc:123" of the place that created the error ("" when OK).
  const std::string& where() const { return where_; }

  // Returns a copy whose message is "context: message".
  Status WithContext(const std::string& context) const;

  // "InvalidArgument: message" — what a user sees.
  std::string ToString() const;
  // ToString() plus " [at file:line]" — for logs at -v.
  std::string ToDebugString() const;

 private:
  Code code_ = Code::kOk;
  std::string msg_;
  std::string where_;
};

// Factory helpers; each records the caller's location.
#define OGAI_STATUS_FACTORY(Name, CodeValue)                                            \
  inline Status Name(std::string msg, SourceLocation loc = SourceLocation::current()) { \
    return Status(Code::CodeValue, std::move(msg), loc);                                \
  }
OGAI_STATUS_FACTORY(InvalidArgument, kInvalidArgument)
OGAI_STATUS_FACTORY(NotFound, kNotFound)
OGAI_STATUS_FACTORY(AlreadyExists, kAlreadyExists)
OGAI_STATUS_FACTORY(IoError, kIoError)
OGAI_STATUS_FACTORY(Corruption, kCorruption)
OGAI_STATUS_FACTORY(Timeout, kTimeout)
OGAI_STATUS_FACTORY(Unavailable, kUnavailable)
OGAI_STATUS_FACTORY(NotSupported, kNotSupported)
OGAI_STATUS_FACTORY(PermissionDenied, kPermissionDenied)
OGAI_STATUS_FACTORY(Aborted, kAborted)
OGAI_STATUS_FACTORY(Internal, kInternal)
#undef OGAI_STATUS_FACTORY

// An IoError whose message ends with strerror(errno_value).
Status ErrnoError(const std::string& what, int errno_value, SourceLocation loc = SourceLocation::current());

// `file` (a __FILE__ or source_location path) relative to the project root: "core/status.cc".
std::string ProjectPath(const char* file);

// Prints "value() called on an error Result: <status>" and aborts. Used by Result<T>.
[[noreturn]] void AbortOnErrorValue(const Status& status);

// Result<T>: a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(implicit)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(implicit)

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  // value() on an error is a bug in the caller: it aborts with the status text (never a
  // bare bad_variant_access).
  T& value() & {
    CheckHasValue();
    return std::get<T>(v_);
  }
  const T& value() const& {
    CheckHasValue();
    return std::get<T>(v_);
  }
  T&& value() && {
    CheckHasValue();
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void CheckHasValue() const {
    if (!ok()) AbortOnErrorValue(std::get<Status>(v_));
  }
  std::variant<T, Status> v_;
};

}  // namespace ogai

#define OGAI_CONCAT_INNER(a, b) a##b
#define OGAI_CONCAT(a, b) OGAI_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define OGAI_RETURN_IF_ERROR(expr)       \
  do {                                   \
    ::ogai::Status _ogai_st = (expr);    \
    if (!_ogai_st.ok()) return _ogai_st; \
  } while (0)

// `OGAI_ASSIGN_OR_RETURN(auto x, MakeX());` — unwraps a Result or returns its Status.
#define OGAI_ASSIGN_OR_RETURN(lhs, expr) OGAI_ASSIGN_OR_RETURN_IMPL(OGAI_CONCAT(_ogai_res_, __LINE__), lhs, expr)
#define OGAI_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
