// Logging: levelled, rank-prefixed lines on stderr, one write(2) per line so lines from
// threads and processes never interleave mid-line.
//
// Quiet by default (warnings and errors only); `-v` raises to info, `-vv` to debug.
// OGAI_LOG_LEVEL=error|warn|info|debug overrides both.
//
//   OGAI_LOG(Info) << "loaded " << n << " shards";
//
// Repeated lines are rate-limited: more than 10 lines of the same text within 10 s are not
// written; the first line of that text after the window says how many were dropped.
//
// Program output (the per-step training line, tables) is not logging: it goes to stdout
// through ogai::Print so that it stays machine-readable and is shown at every level.
#pragma once

#include <sstream>
#include <string>

namespace ogai {

enum class LogLevel { Error = 0, Warn = 1, Info = 2, Debug = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Applies OGAI_LOG_LEVEL from the environment, if set. Returns false if its value is unknown.
bool ApplyLogLevelFromEnv();
// The rank shown in the prefix; -1 means "no rank" (launcher, tools).
void SetLogRank(int rank);
// A short name for the process shown in the prefix ("ogai-run", "worker", ...).
void SetLogProcessName(const std::string& name);

bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, const std::string& text);

// Writes `text` plus a newline to stdout with one write(2) and flushes.
void Print(const std::string& text);

class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { LogLine(level_, os_.str()); }
  template <typename T>
  LogMessage& operator<<(const T& v) {
    os_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream os_;
};

}  // namespace ogai

#define OGAI_LOG(level)                               \
  if (!::ogai::LogEnabled(::ogai::LogLevel::level)) { \
  } else                                              \
    ::ogai::LogMessage(::ogai::LogLevel::level)
