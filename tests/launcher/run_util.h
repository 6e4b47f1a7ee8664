// Helpers for the launcher's end-to-end tests: run ogai-run (or srun, sbatch, mpirun) as a
// real child process, capture its output, signal it, and check that nothing of the job
// remains afterwards.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/util/child.h"

namespace ogai::launch::testing {

// $OGAI_BUILD_DIR/bin (ctest sets OGAI_BUILD_DIR) or the folder of this test binary.
std::string BinDir();
std::string SourceDir();

// The tests' one child helper (tests/util/child.h): Child::Start captures stdout and stderr
// apart and lets a test watch stdout while the program runs.
using Child = ogai::testing::Child;

struct RunResult {
  int code = -1;
  std::string out, err;
  double seconds = 0;
};
RunResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                     double timeout = 120);

// A fresh value for OGAI_TEST_MARK; pass `-x OGAI_TEST_MARK=<mark>` to ogai-run.
std::string NewMark();
// The environment entry that points ogai-run's ssh at the test sshd
// ("OGAI_SSH_OPTS=-F <config>"), or "" when none runs (OGAI_TEST_SSH_CONFIG unset or missing);
// kNoTestSshd is what a test that needs it says when it skips.
std::string TestSshEnv();
inline constexpr const char* kNoTestSshd =
    "no test sshd: OGAI_TEST_SSH_CONFIG is not set (scripts/test.sh starts one with scripts/testenv/sshd.sh)";
// The namespace cluster of scripts/testenv/netns.sh (OGAI_TEST_NETNS): one entry per node.
struct NetnsNode {
  std::string addr, name, netns, veth;  // veth: its host-side end (`ip link set <veth> down`)
};
struct NetnsCluster {
  std::vector<NetnsNode> nodes;
  std::string head;     // the root namespace's address on the cluster's bridge
  std::string ssh_env;  // "OGAI_SSH_OPTS=-F <dir>/ssh_config" for ogai-run
  std::string why;      // when there are no nodes: why (for GTEST_SKIP)
};
NetnsCluster TestNetns();

// Processes whose environment carries OGAI_TEST_MARK=<mark>, after waiting up to `grace`
// seconds for them to go.
std::vector<pid_t> Survivors(const std::string& mark, double grace = 0.0);
// "pid 123 (sleep 30), pid 124 (...)" for messages.
std::string Describe(const std::vector<pid_t>& pids);

// Lines of `text` that contain `needle`.
std::vector<std::string> LinesWith(const std::string& text, const std::string& needle);
// The value of key=value in a "ready rank=R pid=P ppid=Q" line of `rank`; -1 if absent.
long ReadyField(const std::string& out, int rank, const std::string& key);

}  // namespace ogai::launch::testing
