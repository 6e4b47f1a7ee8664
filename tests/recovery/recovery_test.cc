// Recovery end to end on this machine: a training job through ogai-run whose ranks the test
// breaks on purpose, and which must finish as if nothing had happened.
//   * a rank SIGKILLed mid-training: restart, resume, every step's loss bit-identical to an
//     uninterrupted run of the same layout;
//   * a rank SIGSTOPped: found by --heartbeat-timeout, named, restarted, same losses;
//   * a second kill while the group restarts: handled the same way, counted;
//   * restarts run out: the exit code and the root-cause block with every round's failure;
//   * checkpoint.peer_copies: the restart loads the shards from memory.
// After each job, no process of it is left. (The node-loss and elastic scenarios need two
// "hosts": recovery_ssh_test.)
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/recovery/recovery_util.h"

namespace ogai::recovery_testing {
namespace {

namespace fs = std::filesystem;
using launch::testing::Describe;

const std::vector<std::string> kTwoRanks = {"-np", "2"};
const std::vector<std::string> kDp2 = {"parallel.dp=2"};

std::vector<std::string> Flags(std::vector<std::string> extra) {
  std::vector<std::string> f = kTwoRanks;
  f.insert(f.end(), extra.begin(), extra.end());
  return f;
}

// Every step of `got` (what the run ends with) has the reference's loss bits.
void ExpectSameLosses(const Metrics& ref, const Metrics& got, int64_t steps) {
  ASSERT_EQ(ref.final.size(), static_cast<size_t>(steps));
  ASSERT_EQ(got.final.size(), static_cast<size_t>(steps)) << "the run did not complete every step";
  for (const auto& [step, line] : got.final) {
    EXPECT_EQ(line.loss_bits, ref.final.at(step).loss_bits)
        << "step " << step << " (restart " << line.restart << "): " << line.loss << " vs " << ref.final.at(step).loss;
  }
  // The steps a restarted round did again are the same as the first time too.
  for (const StepLine& l : got.lines) {
    EXPECT_EQ(l.loss_bits, ref.final.at(l.step).loss_bits) << "step " << l.step << " in restart " << l.restart;
  }
}

// Waits for rank 0 to complete `step` in round `restart`.
bool WaitForStep(Job& job, int64_t step, int restart = 0, double timeout = 120) {
  return job.WaitUntil([&] { return job.ReadRank(0).MaxStep(restart) >= step; }, timeout);
}

TEST(Recovery, KilledRankRestartsAndFinishesBitIdentical) {
  std::string ref_log;
  const Metrics ref = ReferenceRun("kill", kTwoRanks, kDp2, 40, &ref_log);
  ASSERT_EQ(ref.final.size(), 40u) << ref_log;

  Job job("kill", Flags({"--max-restarts", "3", "--grace", "2"}), kDp2);
  ASSERT_TRUE(WaitForStep(job, 12)) << job.err();
  const pid_t victim = RankPid(job.mark(), 1, 0);
  ASSERT_GT(victim, 0);
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_EQ(job.Wait(), 0) << job.err();
  EXPECT_NE(job.err().find("rank 1 (node 0, localhost) was killed by signal 9 (SIGKILL); restarting the group "
                           "(restart 1 of 3)"),
            std::string::npos)
      << job.err();
  const Metrics m = job.ReadRank(0);
  const StartLine* s = m.Start(1);
  ASSERT_NE(s, nullptr) << "no start record of the restarted round";
  EXPECT_GE(s->resume_step, 5) << "the restart did not resume from a checkpoint";
  EXPECT_EQ(s->source, "disk");
  ExpectSameLosses(ref, m, 40);
  ExpectSameLosses(ref, job.ReadRank(1), 40);
  auto left = job.Leftovers();
  EXPECT_TRUE(left.empty()) << "left running: " << Describe(left);
}

TEST(Recovery, HungRankIsNamedRestartedAndFinishesBitIdentical) {
  std::string ref_log;
  const Metrics ref = ReferenceRun("hang", kTwoRanks, kDp2, 40, &ref_log);
  ASSERT_EQ(ref.final.size(), 40u) << ref_log;

  Job job("hang", Flags({"--max-restarts", "3", "--heartbeat-timeout", "5", "--grace", "2"}), kDp2);
  ASSERT_TRUE(WaitForStep(job, 12)) << job.err();
  const pid_t victim = RankPid(job.mark(), 1, 0);
  ASSERT_GT(victim, 0);
  ASSERT_EQ(::kill(victim, SIGSTOP), 0);
  ASSERT_EQ(job.Wait(), 0) << job.err();
  // Named in the log: the stopped rank, not its peer waiting for it in the all-reduce.
  EXPECT_NE(job.err().find("rank 1 (node 0, localhost) made no progress for"), std::string::npos) << job.err();
  EXPECT_EQ(job.err().find("rank 0 (node 0, localhost) made no progress"), std::string::npos) << job.err();
  EXPECT_NE(job.err().find("restarting the group (restart 1 of 3)"), std::string::npos) << job.err();
  const Metrics m = job.ReadRank(1);
  ASSERT_NE(m.Start(1), nullptr);
  EXPECT_GE(m.Start(1)->resume_step, 5);
  ExpectSameLosses(ref, m, 40);
  auto left = job.Leftovers();
  EXPECT_TRUE(left.empty()) << "left running: " << Describe(left);
}

TEST(Recovery, KillDuringTheRestartIsHandledTheSameWay) {
  std::string ref_log;
  const Metrics ref = ReferenceRun("kill2", kTwoRanks, kDp2, 40, &ref_log);
  ASSERT_EQ(ref.final.size(), 40u) << ref_log;

  Job job("kill2", Flags({"--max-restarts", "3", "--grace", "2"}), kDp2);
  ASSERT_TRUE(WaitForStep(job, 12)) << job.err();
  ASSERT_EQ(::kill(RankPid(job.mark(), 1, 0), SIGKILL), 0);
  // The restarted group's rank 0, killed while it starts (joining, loading the checkpoint).
  pid_t second = -1;
  ASSERT_TRUE(job.WaitUntil([&] { return (second = RankPid(job.mark(), 0, 1)) > 0; }, 60)) << job.err();
  ASSERT_EQ(::kill(second, SIGKILL), 0);
  ASSERT_EQ(job.Wait(), 0) << job.err();
  EXPECT_NE(job.err().find("restarting the group (restart 1 of 3)"), std::string::npos) << job.err();
  EXPECT_NE(job.err().find("rank 0 (node 0, localhost) was killed by signal 9 (SIGKILL); restarting the group "
                           "(restart 2 of 3)"),
            std::string::npos)
      << job.err();
  const Metrics m = job.ReadRank(0);
  ASSERT_NE(m.Start(2), nullptr) << "no start record of the third round";
  ExpectSameLosses(ref, m, 40);
  auto left = job.Leftovers();
  EXPECT_TRUE(left.empty()) << "left running: " << Describe(left);
}

TEST(Recovery, WhenRestartsRunOutTheRootCauseListsEveryRound) {
  Job job("runout", Flags({"--max-restarts", "1", "--grace", "2"}), kDp2);
  ASSERT_TRUE(WaitForStep(job, 8)) << job.err();
  ASSERT_EQ(::kill(RankPid(job.mark(), 1, 0), SIGKILL), 0);
  pid_t second = -1;
  ASSERT_TRUE(job.WaitUntil([&] { return (second = RankPid(job.mark(), 0, 1)) > 0; }, 60)) << job.err();
  ASSERT_EQ(::kill(second, SIGKILL), 0);
  EXPECT_EQ(job.Wait(), 128 + SIGKILL) << job.err();
  const std::string& e = job.err();
  EXPECT_NE(e.find("ogai-run: job failed: rank 0 (node 0, localhost) was killed by signal 9 (SIGKILL)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("failures, one per round (1 restart used):"), std::string::npos) << e;
  EXPECT_NE(e.find("round 0 at "), std::string::npos) << e;
  EXPECT_NE(e.find(": rank 1 (node 0, localhost) was killed by signal 9 (SIGKILL), pid "), std::string::npos) << e;
  EXPECT_NE(e.find("round 1 at "), std::string::npos) << e;
  EXPECT_NE(e.find(": rank 0 (node 0, localhost) was killed by signal 9 (SIGKILL), pid "), std::string::npos) << e;
  EXPECT_NE(e.find("ogai-run: exit code 137"), std::string::npos) << e;
  auto left = job.Leftovers();
  EXPECT_TRUE(left.empty()) << "left running: " << Describe(left);
}

TEST(Recovery, PeerCopiesAreWhatTheRestartLoads) {
  std::string ref_log;
  const Metrics ref = ReferenceRun("peer", kTwoRanks, kDp2, 100, &ref_log);
  ASSERT_EQ(ref.final.size(), 100u) << ref_log;

  Job job("peer", Flags({"--max-restarts", "2", "--grace", "2"}),
          {"parallel.dp=2", "checkpoint.peer_copies=1", "checkpoint.every_steps=50"}, 100);
  // Both ranks have pushed their copies of the latest checkpoint before the kill, and the
  // next one is 50 steps away.
  ASSERT_TRUE(WaitForPeerCopiedLatest(job, {0, 1}, 50)) << job.err();
  const pid_t victim = RankPid(job.mark(), 0, 0);
  ASSERT_GT(victim, 0);
  const std::string shard_dir = EnvOf(victim, "OGAI_SHARD_DIR");
  EXPECT_FALSE(shard_dir.empty()) << "ogai-run gave the ranks no folder for the copies";
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_EQ(job.Wait(), 0) << job.err();
  for (int r : {0, 1}) {
    const Metrics m = job.ReadRank(r);
    const StartLine* s = m.Start(1);
    ASSERT_NE(s, nullptr) << "rank " << r;
    EXPECT_GE(s->resume_step, 50) << "rank " << r;
    EXPECT_EQ(s->source, "peer") << "rank " << r << ": " << s->peer_files << " of " << s->files
                                 << " shard files came from peer memory";
    ExpectSameLosses(ref, m, 100);
  }
  auto left = job.Leftovers();
  EXPECT_TRUE(left.empty()) << "left running: " << Describe(left);
  // The in-memory copies went with the job.
  if (!shard_dir.empty()) {
    EXPECT_FALSE(fs::exists(shard_dir)) << shard_dir << " was left behind";
  }
}

}  // namespace
}  // namespace ogai::recovery_testing
