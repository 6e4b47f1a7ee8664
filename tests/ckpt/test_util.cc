#include "tests/ckpt/test_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <utility>

namespace ogai::ckpt::testing {
namespace fs = std::filesystem;

// The environment (set by ctest) wins; else the paths this test was built with.
std::string BinPath(const std::string& name) {
  const char* b = std::getenv("OGAI_BUILD_DIR");
  return std::string(b != nullptr && *b != '\0' ? b : OGAI_TEST_BUILD_DIR) + "/bin/" + name;
}

std::string SourcePath(const std::string& rel) {
  const char* s = std::getenv("OGAI_SOURCE_DIR");
  return std::string(s != nullptr && *s != '\0' ? s : OGAI_TEST_SOURCE_DIR) + "/" + rel;
}

int RunCommand(const std::vector<std::string>& argv, std::string* output, double timeout_s) {
  ogai::testing::ChildResult r = ogai::testing::RunChild(argv, timeout_s);
  if (output != nullptr) *output = std::move(r.output);
  return r.exit_code;
}

int64_t FileSize(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? -1 : static_cast<int64_t>(n);
}

void FlipByte(const std::string& path, int64_t offset) {
  int fd = ::open(path.c_str(), O_RDWR);
  if (fd < 0) throw std::runtime_error("cannot open " + path);
  unsigned char c = 0;
  if (::pread(fd, &c, 1, offset) != 1) throw std::runtime_error("cannot read " + path);
  c ^= 0x5A;
  if (::pwrite(fd, &c, 1, offset) != 1) throw std::runtime_error("cannot write " + path);
  ::close(fd);
}

void TruncateFile(const std::string& path, int64_t size) {
  if (::truncate(path.c_str(), size) != 0) throw std::runtime_error("cannot truncate " + path);
}

std::vector<std::pair<int64_t, std::string>> LossBits(const std::string& metrics_path) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::ifstream f(metrics_path);
  std::string line;
  while (std::getline(f, line)) {
    auto s = line.find("\"step\": ");
    auto b = line.find("\"loss_bits\": \"");
    if (s == std::string::npos || b == std::string::npos) continue;
    const int64_t step = std::strtoll(line.c_str() + s + 8, nullptr, 10);
    const size_t start = b + 14;
    out.emplace_back(step, line.substr(start, line.find('"', start) - start));
  }
  return out;
}

}  // namespace ogai::ckpt::testing
