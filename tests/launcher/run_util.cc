#include "tests/launcher/run_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <fstream>
#include <sstream>

#include "core/clock.h"
#include "core/knobs.h"
#include "launcher/node_runner.h"
#include "launcher/process.h"
#include "launcher/remote.h"

namespace ogai::launch::testing {
namespace {

}  // namespace

std::string BinDir() {
  if (const char* b = std::getenv("OGAI_BUILD_DIR")) return std::string(b) + "/bin";
  return std::filesystem::path(SelfExecutable()).parent_path().string();
}

std::string SourceDir() {
  if (const char* s = std::getenv("OGAI_SOURCE_DIR")) return s;
  return OGAI_TEST_SOURCE_DIR;
}

std::unique_ptr<Child> Child::Start(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env) {
  int outp[2], errp[2];
  if (::pipe2(outp, O_CLOEXEC) != 0 || ::pipe2(errp, O_CLOEXEC) != 0) return nullptr;
  SpawnRequest req;
  req.argv = argv;
  req.env = RankBaseEnv(OwnEnvironment(), env);
  req.stdout_fd = outp[1];
  req.stderr_fd = errp[1];
  req.new_session = true;
  req.parent_death_signal = SIGKILL;
  auto c = std::make_unique<Child>();
  c->start_ = Now();
  auto pid = Spawn(req);
  ::close(outp[1]);
  ::close(errp[1]);
  if (!pid.ok()) {
    ::close(outp[0]);
    ::close(errp[0]);
    c->err_ = pid.status().ToString();
    c->exited_ = true;
    c->code_ = 127;
    return c;
  }
  c->pid_ = *pid;
  c->out_fd_ = outp[0];
  c->err_fd_ = errp[0];
  (void)SetNonBlockingCloexec(c->out_fd_);
  (void)SetNonBlockingCloexec(c->err_fd_);
  return c;
}

Child::~Child() {
  if (!exited_ && pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int st;
    ::waitpid(pid_, &st, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

void Child::Pump(double max_wait) {
  pollfd p[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  int n = ::poll(p, 2, static_cast<int>(max_wait * 1000));
  if (n <= 0) return;
  char buf[65536];
  for (int k = 0; k < 2; ++k) {
    int& fd = k == 0 ? out_fd_ : err_fd_;
    if (fd < 0 || p[k].revents == 0) continue;
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r > 0) {
      (k == 0 ? out_ : err_).append(buf, static_cast<size_t>(r));
    } else if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
      ::close(fd);
      fd = -1;
    }
  }
}

bool Child::WaitForStdout(const std::function<bool(const std::string&)>& pred, double timeout) {
  double deadline = Now() + timeout;
  while (!pred(out_)) {
    if (Now() > deadline || (out_fd_ < 0 && err_fd_ < 0)) return pred(out_);
    Pump(0.05);
  }
  return true;
}

int Child::Wait(double timeout) {
  if (exited_) return code_;
  double deadline = Now() + timeout;
  for (;;) {
    if (out_fd_ >= 0 || err_fd_ >= 0) Pump(0.02);
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      // Collect what is still in the pipes (bounded: the writers are gone or are leftovers).
      for (int k = 0; k < 50 && (out_fd_ >= 0 || err_fd_ >= 0); ++k) Pump(0.02);
      exited_ = true;
      end_ = Now();
      code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return code_;
    }
    if (out_fd_ < 0 && err_fd_ < 0) {
      struct timespec ts = {0, 20 * 1000 * 1000};
      ::nanosleep(&ts, nullptr);
    }
    if (Now() > deadline) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &st, 0);
      exited_ = true;
      end_ = Now();
      code_ = -1;
      return -1;
    }
  }
}

void Child::Signal(int sig) {
  if (!exited_ && pid_ > 0) ::kill(pid_, sig);
}

double Child::seconds() const { return (exited_ ? end_ : Now()) - start_; }

RunResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
              double timeout) {
  auto c = Child::Start(argv, env);
  RunResult r;
  r.code = c->Wait(timeout);
  r.out = c->out();
  r.err = c->err();
  r.seconds = c->seconds();
  return r;
}

std::string TestSshEnv() {
  const std::optional<std::string> cfg = KnobText("OGAI_TEST_SSH_CONFIG");
  if (!cfg || !std::filesystem::exists(*cfg)) return "";
  return std::string("OGAI_SSH_OPTS=-F ") + *cfg;
}

std::string NewMark() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(rd() % 1000000);
}

std::vector<pid_t> Survivors(const std::string& mark, double grace) {
  double deadline = Now() + grace;
  for (;;) {
    std::vector<pid_t> left = ProcessesWithEnv("OGAI_TEST_MARK=" + mark);
    if (left.empty() || Now() >= deadline) return left;
    struct timespec ts = {0, 50 * 1000 * 1000};
    ::nanosleep(&ts, nullptr);
  }
}

std::string Describe(const std::vector<pid_t>& pids) {
  std::string s;
  for (pid_t p : pids) {
    std::string cmd;
    std::ifstream f("/proc/" + std::to_string(p) + "/cmdline");
    std::getline(f, cmd, '\0');
    s += (s.empty() ? "" : ", ") + std::string("pid ") + std::to_string(p) + " (" + cmd + ")";
  }
  return s;
}

std::vector<std::string> LinesWith(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.find(needle) != std::string::npos) out.push_back(line);
  return out;
}

long ReadyField(const std::string& out, int rank, const std::string& key) {
  for (const std::string& l : LinesWith(out, "ready rank=" + std::to_string(rank) + " ")) {
    size_t p = l.find(" " + key + "=");
    if (p != std::string::npos) return std::atol(l.c_str() + p + key.size() + 2);
  }
  return -1;
}

}  // namespace ogai::launch::testing
