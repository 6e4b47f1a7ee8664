#include "core/clock.h"

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace ogai {

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double ThreadCpuSeconds() {
  struct timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double UnixMs() {
  return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string FormatUtc(double unix_ms, bool millis) {
  if (!(unix_ms > 0)) return "-";
  const double whole_ms = std::floor(unix_ms);
  const auto t = static_cast<std::time_t>(whole_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
  if (!millis) return std::string(date) + " UTC";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s.%03d UTC", date, static_cast<int>(whole_ms - 1000.0 * static_cast<double>(t)));
  return buf;
}

}  // namespace ogai
