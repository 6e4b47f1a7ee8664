#include "launcher/guard.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "core/file_io.h"
#include "launcher/process.h"

namespace ogai::launch {
namespace {

[[noreturn]] void GuardMain(int fd, const std::string& marker, const std::string& tmpdir,
                            const std::vector<std::string>& also_remove) {
  ::setsid();
  for (int s : {SIGINT, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE, SIGUSR1, SIGUSR2}) {
    ::signal(s, SIG_IGN);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    if (devnull > 2) ::close(devnull);
  }
  for (int f = 3; f < 1024; ++f)
    if (f != fd) ::close(f);

  std::set<pid_t> sessions;
  std::string buf;
  bool bye = false;
  char tmp[256];
  for (;;) {
    ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(tmp, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (line == "B") bye = true;
      if (line.size() > 2 && line[0] == 'S') sessions.insert(std::atoi(line.c_str() + 2));
    }
    if (bye) break;
  }
  if (bye) ::_exit(0);
  // The agent is gone: nothing of its job may survive it.
  int quiet_rounds = 0;
  for (int i = 0; i < 200 && quiet_rounds < 3; ++i) {
    std::set<pid_t> victims;
    for (pid_t p : ProcessesWithEnv(marker)) victims.insert(p);
    for (pid_t p : ProcessesInSessions(sessions)) victims.insert(p);
    for (pid_t p : victims) ::kill(p, SIGKILL);
    quiet_rounds = victims.empty() ? quiet_rounds + 1 : 0;
    struct timespec ts = {0, 100 * 1000 * 1000};
    ::nanosleep(&ts, nullptr);
  }
  std::vector<std::string> dirs = also_remove;
  dirs.push_back(tmpdir);
  for (const std::string& dir : dirs) {
    if (dir.empty()) continue;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  ::_exit(0);
}

}  // namespace

Result<std::unique_ptr<OrphanGuard>> OrphanGuard::Start(const std::string& marker, const std::string& tmpdir,
                                                        const std::vector<std::string>& also_remove) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError("pipe for the orphan guard", errno);
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(p[0]);
    ::close(p[1]);
    return ErrnoError("fork of the orphan guard", e);
  }
  if (pid == 0) {
    ::close(p[1]);
    GuardMain(p[0], marker, tmpdir, also_remove);
  }
  ::close(p[0]);
  std::unique_ptr<OrphanGuard> g(new OrphanGuard());
  g->pid_ = pid;
  g->fd_ = p[1];
  return g;
}

OrphanGuard::~OrphanGuard() { Dismiss(); }

void OrphanGuard::AddSession(pid_t sid) {
  if (fd_ >= 0) WriteAll(fd_, "S " + std::to_string(sid) + "\n");
}

void OrphanGuard::Dismiss() {
  if (fd_ >= 0) {
    WriteAll(fd_, "B\n");
    ::close(fd_);
    fd_ = -1;
  }
  if (pid_ > 0) {
    int st;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

}  // namespace ogai::launch
