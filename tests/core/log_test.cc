// core/log.h: repeated lines are rate-limited (issue 12: an accept loop failing with EMFILE
// wrote hundreds of thousands of identical lines).
#include "core/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "core/file_io.h"

namespace ogai {
namespace {

// Runs `fn` with stderr going to a file and returns what it wrote.
template <typename Fn>
std::string CaptureStderr(Fn fn) {
  char path[] = "/tmp/ogai-log-test.XXXXXX";
  const int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(fd, STDERR_FILENO);
  fn();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(fd);
  auto text = ReadFile(path);
  ::unlink(path);
  return text.ok() ? *text : std::string();
}

TEST(Log, RepeatedLinesAreRateLimited) {
  const std::string out = CaptureStderr([] {
    for (int i = 0; i < 100000; ++i) LogLine(LogLevel::Warn, "accept: Too many open files (log test)");
  });
  const auto lines = std::count(out.begin(), out.end(), '\n');
  EXPECT_GE(lines, 1);
  EXPECT_LE(lines, 10) << out.substr(0, 2000);
}

TEST(Log, DifferentLinesAreAllWritten) {
  const std::string out = CaptureStderr([] {
    for (int i = 0; i < 50; ++i) LogLine(LogLevel::Warn, "distinct line " + std::to_string(i));
  });
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 50);
}

}  // namespace
}  // namespace ogai
