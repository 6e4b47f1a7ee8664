#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_map>

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

// Repeated lines: the same text more than kRepeatBurst times within kRepeatWindow is
// suppressed until the window ends; the next line of that text then says how many were
// dropped. A process that hits the same error in a loop (an accept that fails with EMFILE,
// a peer that keeps sending garbage) writes a few lines a window, not millions.
constexpr int kRepeatBurst = 10;
constexpr auto kRepeatWindow = std::chrono::seconds(10);
constexpr size_t kRepeatTableMax = 1024;

struct Repeat {
  std::chrono::steady_clock::time_point window_start;
  int64_t count = 0;       // lines of this text in the window
  int64_t suppressed = 0;  // of which not written
};
std::mutex g_repeat_mu;
std::unordered_map<std::string, Repeat> g_repeats;

// Whether to write `text` now; *suppressed_before is the count of copies dropped in the
// previous window, to report with this one.
bool AdmitLine(const std::string& text, int64_t* suppressed_before) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lk(g_repeat_mu);
  if (g_repeats.size() >= kRepeatTableMax && g_repeats.find(text) == g_repeats.end()) {
    for (auto it = g_repeats.begin(); it != g_repeats.end();) {
      it = now - it->second.window_start >= kRepeatWindow && it->second.suppressed == 0 ? g_repeats.erase(it)
                                                                                        : std::next(it);
    }
    if (g_repeats.size() >= kRepeatTableMax) return true;  // all busy: do not track this one
  }
  Repeat& r = g_repeats[text];
  *suppressed_before = 0;
  if (r.count == 0 || now - r.window_start >= kRepeatWindow) {
    *suppressed_before = r.suppressed;
    r.window_start = now;
    r.count = 0;
    r.suppressed = 0;
  }
  if (++r.count <= kRepeatBurst) return true;
  ++r.suppressed;
  return false;
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
  int64_t suppressed = 0;
  if (!AdmitLine(text, &suppressed)) return;
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
  if (suppressed > 0) {
    line.insert(line.size() - 1, " (and " + std::to_string(suppressed) + " more of this line, not shown, in " +
                                     std::to_string(kRepeatWindow.count()) + " s)");
  }
  WriteAll(STDERR_FILENO, line);
}

void Print(const std::string& text) {
  std::string line = text;
  if (line.empty() || line.back() != '\n') line += '\n';
  WriteAll(STDOUT_FILENO, line);
}

}  // namespace ogai
