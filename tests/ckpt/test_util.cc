#include "tests/ckpt/test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

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

Child::Child(const std::vector<std::string>& argv, const std::string& log_path,
             const std::vector<std::string>& env) {
  // Everything the child needs is built before fork: only async-signal-safe calls after it.
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    bool overridden = false;
    for (const auto& x : env) overridden = overridden || kv.substr(0, kv.find('=') + 1) == x.substr(0, x.find('=') + 1);
    if (!overridden) envs.push_back(kv);
  }
  for (const auto& e : env) envs.push_back(e);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) Kill();
}

bool Child::Running() {
  if (reaped_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    reaped_ = true;
    return false;
  }
  return true;
}

int Child::Wait(double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (Running()) {
    if (std::chrono::steady_clock::now() > end) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

void Child::Kill() {
  if (reaped_ || pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  ::waitpid(pid_, &st, 0);
  status_ = st;
  reaped_ = true;
}

int RunCommand(const std::vector<std::string>& argv, std::string* output, double timeout_s) {
  TempDir d;
  const std::string log = d / "out.txt";
  int rc;
  {
    Child c(argv, log);
    rc = c.Wait(timeout_s);
  }
  if (output != nullptr) *output = ReadFile(log);
  return rc;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
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
