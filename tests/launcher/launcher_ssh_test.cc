// ogai-run across nodes reached over ssh. The test command (scripts/test.sh) starts the
// namespace cluster (scripts/testenv/netns.sh): nodes with their own network stack, host
// name and sshd, reached from this (root) namespace over a bridge; the tests use its first
// two nodes (a_, b_). Without the cluster (not root, no iproute2) the tests skip, saying why.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/launcher/run_util.h"

namespace ogai::launch::testing {
namespace {

namespace fs = std::filesystem;

class SshRun : public ::testing::Test {
 protected:
  void SetUp() override {
    NetnsCluster c = TestNetns();
    if (c.nodes.size() < 2) GTEST_SKIP() << (c.why.empty() ? "the namespace cluster has fewer than 2 nodes" : c.why);
    env_ = {c.ssh_env};
    a_ = c.nodes[0].addr;
    b_ = c.nodes[1].addr;
    b_veth_ = c.nodes[1].veth;
    // An address of the cluster's subnet that no node has.
    unused_ = c.head.substr(0, c.head.rfind('.')) + ".200";
    mark_ = NewMark();
  }
  std::string Hosts(int slots_a, int slots_b) const {
    return a_ + ":" + std::to_string(slots_a) + "," + b_ + ":" + std::to_string(slots_b);
  }
  std::vector<std::string> Cmd(std::vector<std::string> flags, std::vector<std::string> program) {
    std::vector<std::string> argv = {BinDir() + "/ogai-run"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back("-x");
    argv.push_back("OGAI_TEST_MARK=" + mark_);
    argv.push_back("--");
    argv.insert(argv.end(), program.begin(), program.end());
    return argv;
  }
  void ExpectNothingLeft(double grace = 0.0) {
    auto left = Survivors(mark_, grace);
    EXPECT_TRUE(left.empty()) << "left running: " << Describe(left);
  }
  std::vector<std::string> env_;
  std::string a_, b_, b_veth_, unused_;
  std::string mark_;
};

std::string Helper() { return BinDir() + "/rank_helper"; }

bool AllReady(const std::string& out, int n) {
  for (int r = 0; r < n; ++r)
    if (ReadyField(out, r, "pid") <= 0) return false;
  return true;
}

TEST_F(SshRun, TwoHostsRunOneJob) {
  auto r =
      RunCommand(Cmd({"-H", Hosts(2, 2)}, {Helper(), "env", "RANK", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE"}), env_);
  ASSERT_EQ(r.code, 0) << r.err;
  for (int k = 0; k < 4; ++k) {
    std::string p = "rank " + std::to_string(k) + " ";
    EXPECT_EQ(LinesWith(r.out, p + "NODE_RANK=" + std::to_string(k / 2)).size(), 1u) << r.out;
    EXPECT_EQ(LinesWith(r.out, p + "LOCAL_RANK=" + std::to_string(k % 2)).size(), 1u) << r.out;
    EXPECT_EQ(LinesWith(r.out, p + "WORLD_SIZE=4").size(), 1u) << r.out;
  }
  // Ranks on different "hosts" have different agents (their parents).
  EXPECT_NE(ReadyField(r.out, 0, "ppid"), ReadyField(r.out, 2, "ppid"));
  ExpectNothingLeft();
}

TEST_F(SshRun, ThisMachineAndAnSshHostTogether) {
  auto r = RunCommand(Cmd({"-H", "localhost:1," + a_ + ":1", "--tag-output"}, {Helper(), "contract"}), env_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(LinesWith(r.out, "[0] contract rank 0/2 (local 0/1, node 0/2)").size(), 1u) << r.out;
  EXPECT_EQ(LinesWith(r.out, "[1] contract rank 1/2 (local 0/1, node 1/2)").size(), 1u) << r.out;
  ExpectNothingLeft();
}

TEST_F(SshRun, RemoteFailureNamesHostAndRank) {
  std::string script = "if [ $RANK = 3 ]; then echo bad thing >&2; exit 9; fi; sleep 60";
  auto r = RunCommand(Cmd({"-H", Hosts(2, 2)}, {"sh", "-c", script}), env_);
  EXPECT_EQ(r.code, 9) << r.err;
  EXPECT_NE(r.err.find("rank 3 (node 1, " + b_ + ") exited with code 9"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("| bad thing"), std::string::npos) << r.err;
  ExpectNothingLeft();
}

TEST_F(SshRun, KilledAgentIsNoticedAndNothingSurvives) {
  auto c = Child::Start(Cmd({"-H", Hosts(2, 2)}, {Helper(), "sleep", "120"}), env_);
  ASSERT_TRUE(c->WaitForStdout([](const std::string& o) { return AllReady(o, 4); }, 60)) << c->out() << c->err();
  long agent = ReadyField(c->out(), 3, "ppid");  // rank 3 runs on b_
  ASSERT_GT(agent, 1);
  ::kill(static_cast<pid_t>(agent), SIGKILL);
  int code = c->Wait(60);
  EXPECT_EQ(code, 125) << c->err();
  EXPECT_NE(c->err().find("the agent of node 1 (" + b_ + ") was lost"), std::string::npos) << c->err();
  // The dead agent's ranks are killed by its guard; the others by the launcher.
  ExpectNothingLeft(10.0);
}

TEST_F(SshRun, FrozenAgentIsNoticedThroughTheStore) {
  // A stopped agent keeps its ssh connection open: only its silence in the store tells.
  auto c = Child::Start(Cmd({"-H", Hosts(1, 1)}, {Helper(), "sleep", "120"}), env_);
  ASSERT_TRUE(c->WaitForStdout([](const std::string& o) { return AllReady(o, 2); }, 60)) << c->err();
  pid_t agent = static_cast<pid_t>(ReadyField(c->out(), 1, "ppid"));
  ASSERT_GT(agent, 1);
  double frozen_at = c->seconds();
  ::kill(agent, SIGSTOP);
  int code = c->Wait(60);
  double noticed_after = c->seconds() - frozen_at;
  ::kill(agent, SIGCONT);  // it wakes up to a closed connection and stops its ranks
  EXPECT_EQ(code, 125) << c->err();
  EXPECT_NE(c->err().find("no heartbeat from its agent in the store"), std::string::npos) << c->err();
  std::printf("frozen agent: ogai-run ended %.2f s after SIGSTOP\n", noticed_after);
  EXPECT_LT(noticed_after, 30.0);  // generous: the design is 4 s plus the grace period
  ExpectNothingLeft(10.0);
}

TEST_F(SshRun, UnreachableHostIsOneClearErrorBeforeAnythingStarts) {
  fs::path witness = fs::path(::testing::TempDir()) / ("ogai-unreach-" + mark_);
  auto r = RunCommand(Cmd({"-H", a_ + ":1," + unused_ + ":1"}, {"sh", "-c", "touch " + witness.string()}), env_, 120);
  EXPECT_EQ(r.code, 125) << r.err;
  EXPECT_NE(r.err.find("cannot start the agent on host " + unused_), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(witness)) << "a rank ran although a host was unreachable";
  ExpectNothingLeft(5.0);
}

TEST_F(SshRun, LostNodeRejoinsWhenTheGroupRestarts) {
  auto c = Child::Start(Cmd({"-H", Hosts(1, 1), "--max-restarts", "1"}, {Helper(), "wait-restart", "120"}), env_);
  ASSERT_TRUE(c->WaitForStdout([](const std::string& o) { return AllReady(o, 2); }, 60)) << c->err();
  ::kill(static_cast<pid_t>(ReadyField(c->out(), 1, "ppid")), SIGKILL);
  int code = c->Wait(120);
  EXPECT_EQ(code, 0) << c->err();
  EXPECT_NE(c->err().find("restarting the group (restart 1 of 1)"), std::string::npos) << c->err();
  EXPECT_EQ(LinesWith(c->out(), "rank 1 round 1 node 1").size(), 1u) << c->out();
  EXPECT_EQ(LinesWith(c->out(), "rank 0 round 1 node 0").size(), 1u) << c->out();
  ExpectNothingLeft(5.0);
}

TEST_F(SshRun, ElasticJobContinuesWithoutANodeThatCannotRejoin) {
  // An ssh wrapper that refuses b_ once the flag file exists.
  fs::path dir = fs::path(::testing::TempDir()) / ("ogai-elastic-" + mark_);
  fs::create_directories(dir);
  fs::path flag = dir / "down";
  fs::path wrapper = dir / "ssh";
  std::ofstream(wrapper) << "#!/bin/sh\n"
                            "for a in \"$@\"; do prev=$host; host=$a; done\n"
                            "if [ -e "
                         << flag.string() << " ] && [ \"$prev\" = " << b_ << " ]; then\n"
                         << "  echo 'ssh: connect to host " << b_
                         << " port 22: Connection refused' >&2\n"
                            "  exit 255\n"
                            "fi\n"
                            "exec ssh \"$@\"\n";
  fs::permissions(wrapper, fs::perms::owner_all);
  std::vector<std::string> env = env_;
  env.push_back("OGAI_SSH=" + wrapper.string());
  auto c = Child::Start(Cmd({"-H", Hosts(2, 2), "--nnodes", "1:2", "--max-restarts", "1", "--rejoin-timeout", "3"},
                            {Helper(), "wait-restart", "120"}),
                        env);
  ASSERT_TRUE(c->WaitForStdout([](const std::string& o) { return AllReady(o, 4); }, 60)) << c->err();
  std::ofstream(flag) << "down\n";
  ::kill(static_cast<pid_t>(ReadyField(c->out(), 2, "ppid")), SIGKILL);
  int code = c->Wait(120);
  EXPECT_EQ(code, 0) << c->err();
  EXPECT_NE(c->err().find("continuing without 1 node(s)"), std::string::npos) << c->err();
  // Round 1 has the two ranks of a_ only, renumbered 0 and 1.
  EXPECT_EQ(LinesWith(c->out(), "round 1 node 0").size(), 2u) << c->out();
  EXPECT_EQ(LinesWith(c->out(), "round 1 node 1").size(), 0u) << c->out();
  ExpectNothingLeft(5.0);
  fs::remove_all(dir);
}

TEST_F(SshRun, MpiJobAcrossTwoHosts) {
  // Ranks on different nodes talk TCP over the nodes' eth0; the PMIx fence crosses the store.
  auto r = RunCommand(Cmd({"-H", Hosts(2, 2), "-x", "OMPI_MCA_btl=self,tcp", "-x", "OMPI_MCA_btl_tcp_if_include=eth0",
                           "-x", "OMPI_MCA_oob_tcp_if_include=eth0"},
                          {BinDir() + "/mpi_allreduce", "4"}),
                      env_);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(LinesWith(r.out, "of 4 sum 6 ok").size(), 4u) << r.out;
  ExpectNothingLeft();
}

TEST_F(SshRun, NodeCutOffTheNetworkIsNamedAndLeavesNothingRunning) {
  auto c = Child::Start(Cmd({"-H", Hosts(1, 1)}, {Helper(), "sleep", "120"}), env_);
  ASSERT_TRUE(c->WaitForStdout([](const std::string& o) { return AllReady(o, 2); }, 60)) << c->err();
  const double down_at = c->seconds();
  ASSERT_EQ(std::system(("ip link set " + b_veth_ + " down").c_str()), 0);
  int code = c->Wait(60);
  const double ended_after = c->seconds() - down_at;
  EXPECT_EQ(code, 125) << c->err();
  // The root-cause block names the node and why.
  EXPECT_NE(c->err().find("ogai-run: job failed: the agent of node 1 (" + b_ + ") was lost"), std::string::npos)
      << c->err();
  EXPECT_NE(c->err().find("  node:       " + b_ + " (node 1)"), std::string::npos) << c->err();
  EXPECT_NE(c->err().find("detail:     no heartbeat from its agent in the store for 4."), std::string::npos)
      << c->err();
  std::printf("link down: ogai-run ended %.2f s after the link went down\n", ended_after);
  EXPECT_LT(ended_after, 4.0 + 2 * 3.0);  // 4 s of silence, then the grace of the other node's rank
  // The cut-off node's rank was killed by its own agent while nobody could reach it: checked
  // before the link comes back (after that, its agent would also hear that the launcher ended).
  ExpectNothingLeft(3.0);
  ASSERT_EQ(std::system(("ip link set " + b_veth_ + " up").c_str()), 0);
  ExpectNothingLeft(10.0);
}

TEST_F(SshRun, ElasticJobContinuesWithoutANodeCutOffTheNetwork) {
  auto c = Child::Start(
      Cmd({"-H", Hosts(2, 2), "--nnodes", "1:2", "--max-restarts", "1", "--rejoin-timeout", "3", "--grace", "1"},
          {Helper(), "wait-restart", "120"}),
      env_);
  ASSERT_TRUE(c->WaitForStdout([](const std::string& o) { return AllReady(o, 4); }, 60)) << c->err();
  ASSERT_EQ(std::system(("ip link set " + b_veth_ + " down").c_str()), 0);
  int code = c->Wait(120);
  EXPECT_EQ(code, 0) << c->err();
  EXPECT_NE(c->err().find("the agent of node 1 (" + b_ + ") was lost"), std::string::npos) << c->err();
  EXPECT_NE(c->err().find("continuing without 1 node(s)"), std::string::npos) << c->err();
  EXPECT_EQ(LinesWith(c->out(), "round 1 node 0").size(), 2u) << c->out();
  EXPECT_EQ(LinesWith(c->out(), "round 1 node 1").size(), 0u) << c->out();
  ExpectNothingLeft(3.0);  // the cut-off node's ranks too, while it is still cut off
  ASSERT_EQ(std::system(("ip link set " + b_veth_ + " up").c_str()), 0);
  ExpectNothingLeft(10.0);
}

}  // namespace
}  // namespace ogai::launch::testing
