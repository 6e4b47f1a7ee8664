#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>

#include "core/file_io.h"
#include "core/knobs.h"

namespace ogai {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::Warn)};
std::atomic<int> g_rank{-1};
std::mutex g_name_mu;
std::string g_name = "ogai";

const char* LevelTag(LogLevel l) {
  switch (l) {
    case LogLevel::Error: return "E";
    case LogLevel::Warn: return "W";
    case LogLevel::Info: return "I";
    case LogLevel::Debug: return "D";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }

bool ApplyLogLevelFromEnv() {
  const std::optional<std::string> level = KnobText("OGAI_LOG_LEVEL");
  if (!level) return true;
  const char* v = level->c_str();
  struct {
    const char* name;
    LogLevel level;
  } table[] = {
      {"error", LogLevel::Error}, {"warn", LogLevel::Warn}, {"info", LogLevel::Info}, {"debug", LogLevel::Debug}};
  for (auto& t : table) {
    if (std::strcmp(v, t.name) == 0) {
      SetLogLevel(t.level);
      return true;
    }
  }
  return false;
}

void SetLogRank(int rank) { g_rank.store(rank); }
void SetLogProcessName(const std::string& name) {
  std::lock_guard<std::mutex> lk(g_name_mu);
  g_name = name;
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) <= g_level.load(); }

void LogLine(LogLevel level, const std::string& text) {
  std::string line;
  line.reserve(text.size() + 48);
  line += "[";
  {
    std::lock_guard<std::mutex> lk(g_name_mu);
    line += g_name;
  }
  int rank = g_rank.load();
  if (rank >= 0) line += " rank " + std::to_string(rank);
  line += "] ";
  line += LevelTag(level);
  line += ": ";
  line += text;
  if (line.empty() || line.back() != '\n') line += '\n';
  WriteAll(STDERR_FILENO, line);
}

void Print(const std::string& text) {
  std::string line = text;
  if (line.empty() || line.back() != '\n') line += '\n';
  WriteAll(STDOUT_FILENO, line);
}

}  // namespace ogai
