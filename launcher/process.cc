#include "launcher/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ogai::launch {
namespace {

// Reads a small /proc file; "" if it is gone.
std::string ReadProcFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1u << 22)) break;
  }
  ::close(fd);
  return out;
}

struct StatFields {
  char state = 0;
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
};

bool ReadStat(pid_t pid, StatFields* f) {
  std::string s = ReadProcFile("/proc/" + std::to_string(pid) + "/stat");
  size_t rp = s.rfind(')');  // the command name may contain spaces and parentheses
  if (rp == std::string::npos || rp + 2 >= s.size()) return false;
  std::istringstream in(s.substr(rp + 2));
  long ppid = 0, pgrp = 0, session = 0;
  in >> f->state >> ppid >> pgrp >> session;
  if (!in) return false;
  f->ppid = static_cast<pid_t>(ppid);
  f->pgrp = static_cast<pid_t>(pgrp);
  f->session = static_cast<pid_t>(session);
  return true;
}

template <typename Fn>
void ForEachPid(Fn fn) {
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return;
  pid_t self = ::getpid();
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == self) continue;
    fn(static_cast<pid_t>(pid));
  }
  ::closedir(d);
}

}  // namespace

Result<std::string> ResolveProgram(const std::string& name, const std::string& path_var) {
  if (name.empty()) return InvalidArgument("empty program name");
  auto check = [](const std::string& p) -> int {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) return errno;
    if (S_ISDIR(st.st_mode)) return EISDIR;
    if (::access(p.c_str(), X_OK) != 0) return errno;
    return 0;
  };
  if (name.find('/') != std::string::npos) {
    int e = check(name);
    if (e == 0) return name;
    if (e == ENOENT) return NotFound("program '" + name + "' does not exist");
    return PermissionDenied("program '" + name + "' cannot be run: " + std::strerror(e));
  }
  std::string path = path_var.empty() ? "/usr/bin:/bin" : path_var;
  int first_err = 0;
  size_t start = 0;
  while (start <= path.size()) {
    size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + name;
    int e = check(cand);
    if (e == 0) return cand;
    if (e != ENOENT && e != ENOTDIR && first_err == 0) first_err = e;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (first_err != 0) {
    return PermissionDenied("program '" + name + "' was found in PATH but cannot be run: " + std::strerror(first_err));
  }
  return NotFound("program '" + name + "' not found in PATH (" + path + "); give its path, e.g. ./" + name);
}

Result<pid_t> Spawn(const SpawnRequest& req) {
  if (req.argv.empty()) return InvalidArgument("Spawn: empty argv");
  std::string path_var;
  for (const std::string& kv : req.env)
    if (kv.rfind("PATH=", 0) == 0) path_var = kv.substr(5);
  OGAI_ASSIGN_OR_RETURN(std::string exe, ResolveProgram(req.argv[0], path_var));

  // Everything the child needs is prepared before vfork: after it the child only makes
  // async-signal-safe calls.
  std::vector<char*> argv, envp;
  for (const std::string& a : req.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : req.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (int c : req.cpus)
    if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &cpus);
  // const: a variable assigned before vfork and read after must not be one the child could
  // have changed (-Wclobbered).
  const int devnull = req.stdin_fd < 0 ? ::open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
  if (req.stdin_fd < 0 && devnull < 0) return ErrnoError("opening /dev/null", errno);
  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) {
    int e = errno;
    if (devnull >= 0) ::close(devnull);
    return ErrnoError("pipe", e);
  }
  pid_t parent = ::getpid();
  // vfork: the child borrows this process's memory until it execs, instead of copying its
  // page tables (fork's cost grows with the launcher's size and is paid once per rank). The
  // child only makes async-signal-safe calls on its own stack frame and leaves through exec
  // or _exit. Every signal stays blocked in the calling thread across vfork, so no handler of
  // ours can run in the child while it shares our memory; the child sets its own mask below.
  sigset_t all, saved;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  pid_t pid = ::vfork();
  if (pid != 0) ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (pid < 0) {
    int e = errno;
    ::close(errpipe[0]);
    ::close(errpipe[1]);
    if (devnull >= 0) ::close(devnull);
    return ErrnoError("vfork", e);
  }
  if (pid == 0) {
    // Child.
    auto fail = [&](int stage) {
      int msg[2] = {stage, errno};
      ssize_t w = ::write(errpipe[1], msg, sizeof msg);
      (void)w;
      ::_exit(127);
    };
    if (req.new_session && ::setsid() < 0) fail(1);
    if (req.parent_death_signal != 0) {
      if (::prctl(PR_SET_PDEATHSIG, req.parent_death_signal) != 0) fail(2);
      if (::getppid() != parent) ::_exit(128 + req.parent_death_signal);  // parent already gone
    }
    // Default dispositions and an empty mask: the agent blocks and ignores signals that the
    // program must see.
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int in = req.stdin_fd >= 0 ? req.stdin_fd : devnull;
    if (::dup2(in, 0) < 0) fail(3);
    if (req.stdout_fd >= 0 && ::dup2(req.stdout_fd, 1) < 0) fail(3);
    if (req.stderr_fd >= 0 && ::dup2(req.stderr_fd, 2) < 0) fail(3);
    // No other descriptor (the agent's pipes, sockets, the PMIx listener) survives exec.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      long maxfd = ::sysconf(_SC_OPEN_MAX);
      if (maxfd < 0 || maxfd > 65536) maxfd = 65536;
      for (int fd = 3; fd < maxfd; ++fd) {
        if (fd != errpipe[1]) ::close(fd);
      }
    }
    if (!req.cpus.empty() && ::sched_setaffinity(0, sizeof cpus, &cpus) != 0) fail(4);
    if (!req.cwd.empty() && ::chdir(req.cwd.c_str()) != 0) fail(5);
    ::execve(exe.c_str(), argv.data(), envp.data());
    fail(6);
  }
  ::close(errpipe[1]);
  if (devnull >= 0) ::close(devnull);
  int msg[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(errpipe[0], msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  ::close(errpipe[0]);
  if (n == static_cast<ssize_t>(sizeof msg)) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    std::string what;
    switch (msg[0]) {
      case 1: what = "setsid"; break;
      case 2: what = "prctl(PR_SET_PDEATHSIG)"; break;
      case 3: what = "redirecting stdin/stdout/stderr"; break;
      case 4: what = "pinning to CPUs (sched_setaffinity)"; break;
      case 5: what = "changing to directory '" + req.cwd + "'"; break;
      case 6: what = "exec of '" + exe + "'"; break;
      default: what = "setup"; break;
    }
    return Status(Code::kIoError, "starting " + req.argv[0] + ": " + what + " failed: " + std::strerror(msg[1]));
  }
  return pid;
}

Status BecomeSubreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return ErrnoError("PR_SET_CHILD_SUBREAPER", errno);
  return Status::Ok();
}

void ReapChildren(const std::function<void(pid_t, int)>& on_status) {
  for (;;) {
    int st = 0;
    pid_t pid = ::waitpid(-1, &st, WNOHANG | WUNTRACED | WCONTINUED);
    if (pid <= 0) {
      if (pid < 0 && errno == EINTR) continue;
      return;
    }
    on_status(pid, st);
  }
}

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  ForEachPid([&](pid_t pid) {
    StatFields f;
    if (ReadStat(pid, &f) && f.ppid == parent && f.state != 'Z') out.push_back(pid);
  });
  return out;
}

std::vector<pid_t> ProcessesWithEnv(const std::string& key_value) {
  std::vector<pid_t> out;
  ForEachPid([&](pid_t pid) {
    std::string env = ReadProcFile("/proc/" + std::to_string(pid) + "/environ");
    size_t pos = 0;
    while (pos < env.size()) {
      size_t end = env.find('\0', pos);
      if (end == std::string::npos) end = env.size();
      if (env.compare(pos, end - pos, key_value) == 0) {
        if (ProcessState(pid) != 'Z') out.push_back(pid);
        break;
      }
      pos = end + 1;
    }
  });
  return out;
}

std::vector<pid_t> ProcessesInSessions(const std::set<pid_t>& sids) {
  std::vector<pid_t> out;
  if (sids.empty()) return out;
  ForEachPid([&](pid_t pid) {
    StatFields f;
    if (ReadStat(pid, &f) && f.state != 'Z' && sids.count(f.session)) out.push_back(pid);
  });
  return out;
}

char ProcessState(pid_t pid) {
  StatFields f;
  return ReadStat(pid, &f) ? f.state : 0;
}

bool ProcessAlive(pid_t pid) {
  char s = ProcessState(pid);
  return s != 0 && s != 'Z' && s != 'X';
}

std::string SignalName(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  if (abbrev != nullptr) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

std::string DescribeWaitStatus(int st) {
  if (WIFEXITED(st)) return "exit code " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) {
    return "signal " + std::to_string(WTERMSIG(st)) + " (" + SignalName(WTERMSIG(st)) + ")" +
           (WCOREDUMP(st) ? ", core dumped" : "");
  }
  if (WIFSTOPPED(st)) return "stopped by " + SignalName(WSTOPSIG(st));
  if (WIFCONTINUED(st)) return "continued";
  return "status " + std::to_string(st);
}

Status SetNonBlockingCloexec(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return ErrnoError("fcntl", errno);
  int fdfl = ::fcntl(fd, F_GETFD);
  if (fdfl < 0 || ::fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0) return ErrnoError("fcntl", errno);
  return Status::Ok();
}

}  // namespace ogai::launch
