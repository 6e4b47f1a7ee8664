// Recovery when a whole node goes: two nodes of the namespace cluster (scripts/testenv/netns.sh:
// own network stack, host name and sshd each), each with its own agent; their ranks talk
// over TCP between the namespaces. The test SIGKILLs one node's agent and its ranks together.
//   * the node comes back: the group restarts with its agent started again and finishes
//     bit-identical to an uninterrupted run; with checkpoint.peer_copies the lost node's
//     ranks load their shards from the surviving node's memory;
//   * its network link goes down (not a process killed): its agent's heartbeats stop
//     reaching the store, the launcher names it lost within kAgentLostAfter, the agent has
//     killed its own ranks by then, the link comes back while the group restarts, and the
//     job finishes bit-identical with never two copies of a rank;
//   * it does not (--nnodes 1:2, --rejoin-timeout): the job goes on at half the data-parallel
//     size, the checkpoint resharded, the global batch kept by twice the gradient
//     accumulation, within the layout-equivalence tolerance of an uninterrupted run.
// Without the namespace cluster (OGAI_TEST_NETNS; it needs root) the tests skip, saying why.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "launcher/process.h"
#include "tests/recovery/recovery_util.h"

namespace ogai::recovery_testing {
namespace {

namespace fs = std::filesystem;
using launch::testing::Describe;

class RecoverySsh : public ::testing::Test {
 protected:
  void SetUp() override {
    launch::testing::NetnsCluster c = launch::testing::TestNetns();
    if (c.nodes.size() < 2) GTEST_SKIP() << (c.why.empty() ? "the namespace cluster has fewer than 2 nodes" : c.why);
    env_ = {c.ssh_env};
    a_ = c.nodes[0];
    b_ = c.nodes[1];
  }
  std::string Hosts(int slots_a, int slots_b) const {
    return a_.addr + ":" + std::to_string(slots_a) + "," + b_.addr + ":" + std::to_string(slots_b);
  }
  // Kills the agent of the node `rank` runs on, and that node's ranks, at once.
  void KillNodeOf(const Job& job, int rank, const std::vector<int>& node_ranks) {
    const pid_t r = RankPid(job.mark(), rank, 0);
    ASSERT_GT(r, 0);
    const pid_t agent = ParentOf(r);
    ASSERT_GT(agent, 1);
    std::vector<pid_t> ranks;
    for (int k : node_ranks) ranks.push_back(RankPid(job.mark(), k, 0));
    ASSERT_EQ(::kill(agent, SIGKILL), 0);
    for (pid_t p : ranks)
      if (p > 0) ::kill(p, SIGKILL);
  }
  std::vector<std::string> env_;
  launch::testing::NetnsNode a_, b_;
};

TEST_F(RecoverySsh, LostNodeRejoinsAndTheJobFinishesBitIdentical) {
  std::string ref_log;
  const Metrics ref = ReferenceRun("node_ref", {"-np", "2"}, {"parallel.dp=2"}, 100, &ref_log);
  ASSERT_EQ(ref.final.size(), 100u) << ref_log;

  // Both nodes are namespaces of this machine: one OpenMP thread per rank, as in the local
  // reference run (each node's ranks would otherwise take every core of "their" node).
  Job job("node", {"-H", Hosts(1, 1), "-x", "OMP_NUM_THREADS=1", "--max-restarts", "2", "--grace", "2"},
          {"parallel.dp=2", "checkpoint.peer_copies=1", "checkpoint.every_steps=50"}, 100, env_);
  // The kill comes once every rank's peer copy of the latest committed checkpoint is made,
  // and (checkpoints 50 steps apart; a copy takes 15-20 steps of this small model) well
  // before the next one commits: the restart loads that checkpoint. A newer checkpoint whose copies were still under
  // way would be read from disk, as it should.
  ASSERT_TRUE(WaitForPeerCopiedLatest(job, {0, 1}, 50)) << job.err();
  KillNodeOf(job, 1, {1});
  ASSERT_EQ(job.Wait(), 0) << job.err();
  EXPECT_NE(job.err().find("the agent of node 1 (" + b_.addr + ") was lost"), std::string::npos) << job.err();
  EXPECT_NE(job.err().find("restarting the group (restart 1 of 2)"), std::string::npos) << job.err();
  for (int r : {0, 1}) {
    const Metrics m = job.ReadRank(r);
    const StartLine* s = m.Start(1);
    ASSERT_NE(s, nullptr) << "rank " << r << " has no start record of the restarted round";
    EXPECT_GE(s->resume_step, 50) << "rank " << r;
    // Rank 1's node lost its memory: its shards come from node 0's cache (and rank 0's from
    // its own node's folder).
    EXPECT_EQ(s->source, "peer") << "rank " << r << ": " << s->peer_files << " of " << s->files
                                 << " shard files from peer memory\n"
                                 << job.err();
    ASSERT_EQ(m.final.size(), 100u) << "rank " << r;
    for (const auto& [step, line] : m.final) {
      EXPECT_EQ(line.loss_bits, ref.final.at(step).loss_bits) << "rank " << r << " step " << step;
    }
  }
  auto left = job.Leftovers(10.0);
  EXPECT_TRUE(left.empty()) << "left running: " << Describe(left);
}

TEST_F(RecoverySsh, ElasticJobShrinksToTheNodesLeftKeepingTheGlobalBatch) {
  std::string ref_log;
  const Metrics ref = ReferenceRun("shrink_ref", {"-np", "4"}, {"parallel.dp=4"}, 40, &ref_log);
  ASSERT_EQ(ref.final.size(), 40u) << ref_log;

  // An ssh that refuses b_ once the flag file exists: the node stays lost.
  const fs::path wrap_dir = fs::temp_directory_path() / ("ogai_shrink_ssh." + std::to_string(::getpid()));
  fs::create_directories(wrap_dir);
  const fs::path flag = wrap_dir / "down";
  const fs::path wrapper = wrap_dir / "ssh";
  std::ofstream(wrapper) << "#!/bin/sh\n"
                            "for a in \"$@\"; do prev=$host; host=$a; done\n"
                            "if [ -e "
                         << flag.string() << " ] && [ \"$prev\" = " << b_.addr << " ]; then\n"
                         << "  echo 'ssh: connect to host " << b_.addr
                         << " port 22: Connection refused' >&2\n"
                            "  exit 255\n"
                            "fi\n"
                            "exec ssh \"$@\"\n";
  fs::permissions(wrapper, fs::perms::owner_all);
  std::vector<std::string> env = env_;
  env.push_back("OGAI_SSH=" + wrapper.string());

  Job job("shrink",
          {"-H", Hosts(2, 2), "-x", "OMP_NUM_THREADS=1", "--nnodes", "1:2", "--max-restarts", "1", "--rejoin-timeout",
           "2", "--grace", "2"},
          {"parallel.dp=4", "checkpoint.peer_copies=1"}, 40, env);
  ASSERT_TRUE(job.WaitUntil([&] { return PeerCopied(job, {0, 1, 2, 3}, 10); }, 120)) << job.err();
  std::ofstream(flag) << "down\n";
  KillNodeOf(job, 2, {2, 3});
  ASSERT_EQ(job.Wait(), 0) << job.err();
  fs::remove_all(wrap_dir);
  EXPECT_NE(job.err().find("continuing without 1 node(s)"), std::string::npos) << job.err();

  const Metrics m = job.ReadRank(0);
  const StartLine* first = m.Start(0);
  const StartLine* s = m.Start(1);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(s, nullptr) << "no start record of the shrunk round";
  EXPECT_EQ(first->world, 4);
  EXPECT_EQ(first->dp, 4);
  EXPECT_EQ(s->world, 2);
  EXPECT_EQ(s->dp, 2);
  EXPECT_EQ(s->grad_accum, 2 * first->grad_accum) << "the global batch was not kept";
  EXPECT_GE(s->resume_step, 10);
  // The lost node's ranks' shards come from this node's memory, resharded from dp 4 to 2.
  EXPECT_EQ(s->source, "peer") << s->peer_files << " of " << s->files << " shard files from peer memory";
  ASSERT_EQ(m.final.size(), 40u);
  for (const auto& [step, line] : m.final) {
    const double want = ref.final.at(step).loss;
    if (step <= s->resume_step) {
      EXPECT_EQ(line.loss_bits, ref.final.at(step).loss_bits) << "step " << step << " (before the shrink)";
    } else {
      EXPECT_NEAR(line.loss, want, 1e-5 * std::fabs(want)) << "step " << step << " (after the shrink)";
    }
  }
  auto left = job.Leftovers(10.0);
  EXPECT_TRUE(left.empty()) << "left running: " << Describe(left);
}

// Counts, every 50 ms while it runs, the processes of the job per RANK; remembers the most.
class CopyCounter {
 public:
  explicit CopyCounter(std::string mark)
      : mark_(std::move(mark)), thread_([this] {
          while (!stop_.load()) {
            std::map<std::string, int> now;
            for (pid_t p : launch::ProcessesWithEnv("OGAI_TEST_MARK=" + mark_)) {
              if (EnvOf(p, "OGAI_RESTART_COUNT").empty()) continue;  // not a rank (yet)
              ++now[EnvOf(p, "RANK")];
            }
            {
              std::lock_guard<std::mutex> lk(mu_);
              for (const auto& [rank, n] : now) most_[rank] = std::max(most_[rank], n);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }) {}
  ~CopyCounter() { Stop(); }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  std::map<std::string, int> most() {
    std::lock_guard<std::mutex> lk(mu_);
    return most_;
  }

 private:
  std::string mark_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, int> most_;
  std::thread thread_;
};

bool IpLink(const std::string& veth, const char* state) {
  const std::string cmd = "ip link set " + veth + " " + state;
  return std::system(cmd.c_str()) == 0;
}

TEST_F(RecoverySsh, NodeCutOffTheNetworkIsDetectedAndRejoinsBitIdentical) {
  std::string ref_log;
  const Metrics ref = ReferenceRun("link_ref", {"-np", "2"}, {"parallel.dp=2"}, 100, &ref_log);
  ASSERT_EQ(ref.final.size(), 100u) << ref_log;

  Job job("link", {"-H", Hosts(1, 1), "-x", "OMP_NUM_THREADS=1", "--max-restarts", "2", "--grace", "2"},
          {"parallel.dp=2", "checkpoint.peer_copies=1", "checkpoint.every_steps=50"}, 100, env_);
  CopyCounter copies(job.mark());
  ASSERT_TRUE(WaitForPeerCopiedLatest(job, {0, 1}, 50)) << job.err();
  // The node's cable is pulled: its processes live on, but nothing reaches it any more.
  const pid_t old_rank1 = RankPid(job.mark(), 1, 0);
  const double down_at = Now();
  ASSERT_TRUE(IpLink(b_.veth, "down"));
  const std::string lost = "the agent of node 1 (" + b_.addr + ") was lost";
  const bool detected = job.WaitUntil([&] { return job.err().find(lost) != std::string::npos; }, 60);
  const double detect_s = Now() - down_at;
  // The link comes back while the launcher restarts the group: the cut-off agent has killed
  // its ranks already (kAgentFenceAfter < kAgentLostAfter), and a new agent is started.
  ASSERT_TRUE(IpLink(b_.veth, "up"));
  ASSERT_TRUE(detected) << job.err();
  std::printf("link down: the launcher named node 1 lost after %.2f s\n", detect_s);
  EXPECT_LT(detect_s, 4.0 + 3.0) << "4 s without heartbeats, plus slack for a loaded machine";
  ASSERT_EQ(job.Wait(), 0) << job.err();
  copies.Stop();
  EXPECT_EQ(::kill(old_rank1, 0), -1) << "the cut-off node's rank 1 (pid " << old_rank1 << ") still runs";
  for (const auto& [rank, n] : copies.most()) EXPECT_EQ(n, 1) << "rank " << rank << " ran " << n << " times at once";
  EXPECT_NE(job.err().find("restarting the group (restart 1 of 2)"), std::string::npos) << job.err();
  for (int r : {0, 1}) {
    const Metrics m = job.ReadRank(r);
    ASSERT_NE(m.Start(1), nullptr) << "rank " << r << " has no start record of the restarted round";
    ASSERT_EQ(m.final.size(), 100u) << "rank " << r;
    for (const auto& [step, line] : m.final) {
      EXPECT_EQ(line.loss_bits, ref.final.at(step).loss_bits) << "rank " << r << " step " << step;
    }
  }
  auto left = job.Leftovers(10.0);
  EXPECT_TRUE(left.empty()) << "left running: " << Describe(left);
}

}  // namespace
}  // namespace ogai::recovery_testing
