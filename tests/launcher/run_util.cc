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
#include <fstream>
#include <random>
#include <sstream>

#include "core/clock.h"
#include "core/knobs.h"
#include "launcher/node_runner.h"
#include "launcher/process.h"
#include "launcher/remote.h"

namespace ogai::launch::testing {

std::string BinDir() {
  if (const char* b = std::getenv("OGAI_BUILD_DIR")) return std::string(b) + "/bin";
  return std::filesystem::path(SelfExecutable()).parent_path().string();
}

std::string SourceDir() {
  if (const char* s = std::getenv("OGAI_SOURCE_DIR")) return s;
  return OGAI_TEST_SOURCE_DIR;
}

RunResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env, double timeout) {
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

NetnsCluster TestNetns() {
  NetnsCluster c;
  const std::optional<std::string> dir = KnobText("OGAI_TEST_NETNS");
  if (!dir) {
    const std::optional<std::string> why = KnobText("OGAI_TEST_NETNS_WHY");
    c.why = "no namespace cluster: " + (why ? *why
                                            : std::string("OGAI_TEST_NETNS is not set (scripts/test.sh starts one with "
                                                          "scripts/testenv/netns.sh; it needs root and iproute2)"));
    return c;
  }
  std::ifstream hosts(*dir + "/hosts"), head(*dir + "/head");
  NetnsNode n;
  while (hosts >> n.addr >> n.name >> n.netns >> n.veth) c.nodes.push_back(n);
  head >> c.head;
  c.ssh_env = "OGAI_SSH_OPTS=-F " + *dir + "/ssh_config";
  if (c.nodes.empty() || c.head.empty()) {
    c.nodes.clear();
    c.why = "no namespace cluster: " + *dir + "/hosts or head is missing or empty (restart scripts/testenv/netns.sh)";
  }
  return c;
}

std::string NewMark() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(rd() % 1000000);
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
