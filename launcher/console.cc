#include "launcher/console.h"

#include <unistd.h>

#include <mutex>

#include "core/clock.h"
#include "core/file_io.h"
#include "core/log.h"
#include "launcher/warning_merge.h"

namespace ogai::launch::console {
namespace {

std::mutex g_mu;
bool g_merge = false;
WarningMerger& Merger() {
  static WarningMerger m;
  return m;
}

void FlushLocked(bool all) {
  for (const std::string& l : Merger().Due(Now(), all)) WriteAll(STDERR_FILENO, l);
}

void FlushAll() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_merge) FlushLocked(true);
}

}  // namespace

void Error(const std::string& text) {
  FlushAll();
  LogLine(LogLevel::Error, text);
}

void Warn(const std::string& text) {
  FlushAll();
  LogLine(LogLevel::Warn, text);
}

void Notice(const std::string& text) {
  FlushAll();
  WriteAll(STDERR_FILENO, "ogai-run: " + text + "\n");
}

void Block(std::string_view text) {
  FlushAll();
  WriteAll(STDERR_FILENO, text);
}

void Relay(std::string_view text, bool is_stderr) {
  if (is_stderr) {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_merge && Merger().Add(text, Now())) return;
  }
  WriteAll(is_stderr ? STDERR_FILENO : STDOUT_FILENO, text);
}

void MergeRankWarnings(bool on) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!on) FlushLocked(true);
  g_merge = on;
}

void FlushWarnings(bool all) {
  std::lock_guard<std::mutex> lock(g_mu);
  FlushLocked(all);
}

}  // namespace ogai::launch::console
