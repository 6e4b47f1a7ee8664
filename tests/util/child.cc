#include "tests/util/child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "rank/contract.h"
#include "tests/util/job.h"
#include "tests/util/job.h"

extern char** environ;

namespace ogai::testing {

namespace {
std::string Name(const std::string& kv) { return kv.substr(0, kv.find('=') + 1); }

// argv[0] as given when it names a path ("./x", "/bin/sh"), else the first match on PATH,
// like execvp (resolved here because only async-signal-safe calls may follow fork).
std::string Resolve(const std::string& prog) {
  if (prog.find('/') != std::string::npos) return prog;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string d;
  while (std::getline(dirs, d, ':')) {
    const std::string full = (d.empty() ? "." : d) + "/" + prog;
    if (::access(full.c_str(), X_OK) == 0) return full;
  }
  return prog;  // execve fails: the child exits 127
}
}  // namespace

Child::Child(const std::vector<std::string>& argv, Options o)
    : argv_(argv), dir_(std::make_unique<TempDir>("ogai_child")) {
  if (argv_.empty()) throw std::invalid_argument("Child: empty argv");
  // Everything the child needs is built before fork: only async-signal-safe calls after it.
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    bool replaced = false;
    for (const auto& x : o.env) replaced = replaced || Name(kv) == Name(x);
    const std::string key = kv.substr(0, kv.find('='));
    if (!replaced && !(o.drop_launcher_env && launch::IsForeignLauncherVar(key))) envs.push_back(kv);
  }
  for (const auto& e : o.env) envs.push_back(e);
  std::vector<char*> envp, args;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string exe = Resolve(argv_[0]);
  for (auto& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  separate_stderr_ = o.separate_stderr;
  kill_group_on_exit_ = o.kill_group_on_exit;
  const std::string log = *dir_ / "output";
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("Child: cannot create " + log);
  int err_fd = log_fd;
  if (separate_stderr_) {
    const std::string errlog = *dir_ / "stderr";
    err_fd = ::open(errlog.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (err_fd < 0) {
      ::close(log_fd);
      throw std::runtime_error("Child: cannot create " + errlog);
    }
  }
  const pid_t parent = ::getpid();
  start_ = Now();
  int p[2] = {-1, -1};
  if (o.stdout_pipe && ::pipe2(p, O_CLOEXEC) != 0) {
    ::close(log_fd);
    throw std::runtime_error("Child: pipe failed");
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setsid();  // a session and process group of its own
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test died before prctl took effect
    ::dup2(o.stdout_pipe ? p[1] : log_fd, 1);
    ::dup2(err_fd, 2);
    ::execve(exe.c_str(), args.data(), envp.data());
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(log_fd);
  if (err_fd != log_fd) ::close(err_fd);
  if (o.stdout_pipe) {
    ::close(p[1]);
    pipe_fd_ = p[0];
  }
  if (pid_ < 0) {
    if (pipe_fd_ >= 0) ::close(pipe_fd_);
    throw std::runtime_error("Child: fork failed: errno " + std::to_string(fork_errno));
  }
}

Child::~Child() {
  Kill();
  if (pipe_fd_ >= 0) ::close(pipe_fd_);
}

bool Child::Running() {
  if (reaped_ || pid_ <= 0) return false;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = st;
    reaped_ = true;
    end_ = Now();
    if (kill_group_on_exit_) ::kill(-pid_, SIGKILL);  // whatever it left behind in its group
    return false;
  }
  return true;
}

int Child::Wait(double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (Running()) {
    if (std::chrono::steady_clock::now() > end) {
      Kill();
      ADD_FAILURE() << "timed out after " << timeout_s << " s and killed: " << command() << "\n" << output();
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exit_code();
}

void Child::Kill() {
  if (reaped_ || pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  status_ = st;
  reaped_ = true;
  end_ = Now();
}

void Child::Signal(int sig) {
  if (!reaped_ && pid_ > 0) ::kill(pid_, sig);
}

bool Child::WaitForStdout(const std::function<bool(const std::string&)>& pred, double timeout_s) {
  const double deadline = Now() + timeout_s;
  for (;;) {
    const bool running = Running();
    if (pred(out())) return true;
    if (!running || Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a file: no event to wait on
  }
}

double Child::seconds() const { return (reaped_ ? end_ : Now()) - start_; }

std::unique_ptr<Child> Child::Start(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  Options o;
  o.env = env;
  o.separate_stderr = true;
  o.kill_group_on_exit = false;
  o.drop_launcher_env = true;
  return std::make_unique<Child>(argv, o);
}

int Child::exit_code() const {
  if (!reaped_) return -1;
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

bool Child::signalled() const { return reaped_ && WIFSIGNALED(status_); }

std::string Child::output() const { return separate_stderr_ ? out() + err() : ReadText(*dir_ / "output"); }

std::string Child::out() const { return ReadText(*dir_ / "output"); }

std::string Child::err() const { return separate_stderr_ ? ReadText(*dir_ / "stderr") : ""; }

std::string Child::command() const {
  std::string s;
  for (const auto& a : argv_) s += (s.empty() ? "" : " ") + a;
  return s;
}

ChildResult RunChild(const std::vector<std::string>& argv, double timeout_s, const std::vector<std::string>& env) {
  Child c(argv, {env});
  ChildResult r;
  r.exit_code = c.Wait(timeout_s);
  r.output = c.output();
  return r;
}

}  // namespace ogai::testing
