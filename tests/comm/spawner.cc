#include "tests/comm/spawner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace ogai::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Forks argv as the leader of a new process group, output into out_path.
pid_t Start(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& out_path) {
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) envs.emplace_back(*e);
  for (const auto& e : env) envs.push_back(e);
  std::vector<char*> av, ev;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (const auto& e : envs) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execve(av[0], av.data(), ev.data());
    _exit(127);
  }
  if (pid > 0) setpgid(pid, pid);
  return pid;
}

SpawnResult WaitAll(const std::vector<pid_t>& pids, const std::vector<std::string>& outs, std::chrono::seconds timeout) {
  SpawnResult res;
  res.ranks.resize(pids.size());
  std::vector<bool> done(pids.size(), false);
  size_t left = pids.size();
  auto deadline = Clock::now() + timeout;
  while (left > 0) {
    for (size_t i = 0; i < pids.size(); ++i) {
      if (done[i]) continue;
      int st = 0;
      pid_t r = waitpid(pids[i], &st, WNOHANG);
      if (r == pids[i]) {
        done[i] = true;
        --left;
        res.ranks[i].exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (WIFEXITED(st)) kill(-pids[i], SIGKILL);  // anything the rank left behind
      }
    }
    if (left == 0) break;
    if (Clock::now() >= deadline) {
      res.timed_out = true;
      for (size_t i = 0; i < pids.size(); ++i) {
        if (done[i]) continue;
        kill(-pids[i], SIGKILL);
        int st = 0;
        waitpid(pids[i], &st, 0);
        done[i] = true;
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (size_t i = 0; i < pids.size(); ++i) {
    res.ranks[i].output = ReadFile(outs[i]);
    unlink(outs[i].c_str());
  }
  return res;
}

std::string TempPath(int i) {
  return "/tmp/ogai-spawn-" + std::to_string(getpid()) + "-" + std::to_string(Clock::now().time_since_epoch().count()) +
         "-" + std::to_string(i) + ".log";
}

}  // namespace

std::string SpawnResult::Describe() const {
  std::ostringstream os;
  if (timed_out) os << "(timed out; ranks killed)\n";
  for (size_t i = 0; i < ranks.size(); ++i) {
    os << "---- rank " << i << " exit " << ranks[i].exit_code << "\n" << ranks[i].output;
  }
  return os.str();
}

bool SpawnResult::AllOk() const {
  if (timed_out) return false;
  for (const auto& r : ranks) {
    if (r.exit_code != 0) return false;
  }
  return true;
}

SpawnResult SpawnRanks(int n, const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       std::chrono::seconds timeout) {
  std::vector<pid_t> pids;
  std::vector<std::string> outs;
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> e = env;
    e.push_back("OGAI_TEST_RANK=" + std::to_string(i));
    e.push_back("OGAI_TEST_WORLD=" + std::to_string(n));
    outs.push_back(TempPath(i));
    pids.push_back(Start(argv, e, outs.back()));
  }
  return WaitAll(pids, outs, timeout);
}

SpawnResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       std::chrono::seconds timeout) {
  std::vector<std::string> outs = {TempPath(0)};
  std::vector<pid_t> pids = {Start(argv, env, outs[0])};
  return WaitAll(pids, outs, timeout);
}

}  // namespace ogai::testing
