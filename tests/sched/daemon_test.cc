// The scheduler end to end: a real ogai-sched (SQLite state, gRPC on a unix socket) running real
// training jobs of a small model through ogai-run on this machine.
//   * bad requests get one line and change nothing (no daemon, no or wrong token, another
//     tenant's job, a config error, a job no quota can ever fit);
//   * gang admission and the REASON column (Resources, Held), backfill of a small job;
//   * quota reclaim: a tenant borrowing the pool is preempted (the job past its --min-runtime,
//     not the one within it) when the owner submits; the victim checkpoints at its next step,
//     stops, waits, resumes, and ends bit-identical to an uninterrupted run with 0 lost steps;
//   * a job killed under it is requeued and resumes from its last checkpoint, bit-identical;
//   * kill -9 of the daemon with one job running and one queued: the restart re-attaches, the
//     running job is not started again, the queued one runs once.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/recovery/recovery_util.h"
#include "tests/sched/sched_util.h"

namespace ogai::sched_testing {
namespace {

using recovery_testing::Metrics;
using recovery_testing::ReadMetrics;
using recovery_testing::TestConfig;

constexpr const char* kTenants =
    "tenants:\n"
    "  alice: {quota: 2, borrow: 2, token: tok-alice}\n"
    "  bob: {quota: 2, token: tok-bob}\n";

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Rank 0's metrics of attempt `a` of a job.
Metrics AttemptMetrics(Daemon& d, int64_t id, int a) {
  return ReadMetrics(d.JobDir(id) + "/metrics.a" + std::to_string(a) + ".rank0.jsonl");
}

bool WaitStep(Daemon& d, int64_t id, int attempt, int64_t step, double timeout) {
  for (double t = 0; t < timeout; t += 0.1) {
    if (AttemptMetrics(d, id, attempt).MaxStep() >= step) return true;
    ::usleep(100000);
  }
  return false;
}

// The run the attempts add up to: per step, the last line written.
std::map<int64_t, std::string> Merged(Daemon& d, int64_t id, int attempts) {
  std::map<int64_t, std::string> bits;
  for (int a = 1; a <= attempts; ++a)
    for (const auto& [step, line] : AttemptMetrics(d, id, a).final) bits[step] = line.loss_bits;
  return bits;
}

void ExpectBitIdentical(const std::map<int64_t, std::string>& got, const Metrics& ref, int steps) {
  ASSERT_EQ(ref.final.size(), static_cast<size_t>(steps));
  ASSERT_EQ(got.size(), static_cast<size_t>(steps));
  for (const auto& [step, line] : ref.final) {
    auto it = got.find(step);
    ASSERT_NE(it, got.end()) << "step " << step << " is missing";
    EXPECT_EQ(it->second, line.loss_bits) << "step " << step;
  }
}

TEST(SchedDaemon, BadRequestsGetOneLineAndChangeNothing) {
  Daemon d("refuse", "localhost slots=4\n", kTenants);
  // No daemon yet: one line saying how to start it.
  RunResult r = d.Ogai("tok-alice", {"jobs"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("start one with `ogai-sched --state DIR`"), std::string::npos) << r.out;
  EXPECT_EQ(Count(r.out, "\n"), 1) << r.out;
  d.Start();
  const std::string cfg = d.WriteConfig("t.yaml", TestConfig(10));
  r = d.Ogai("", {"jobs"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("no token"), std::string::npos) << r.out;
  r = d.Ogai("wrong", {"submit", cfg});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("the token is not valid"), std::string::npos) << r.out;
  // A quota that can never fit: refused at submit, with the numbers.
  r = d.Ogai("tok-bob", {"submit", cfg, "-np", "3", "parallel.dp=3"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("needs 3 ranks but tenant 'bob' may use at most 2 (quota 2 + borrow limit 0)"),
            std::string::npos)
      << r.out;
  // The config is checked at submit time with the worker's own checks.
  r = d.Ogai("tok-bob", {"submit", cfg, "train.stpes=3"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("did you mean 'train.steps'"), std::string::npos) << r.out;
  r = d.Ogai("tok-bob", {"submit", cfg, "-np", "2"});
  EXPECT_NE(r.out.find("-np 2 but the config's layout is parallel.dp x tp x pp = 1 x 1 x 1 = 1 rank;"),
            std::string::npos)
      << r.out;
  r = d.Ogai("tok-bob", {"submit", cfg, "checkpoint.dir=/tmp/x"});
  EXPECT_NE(r.out.find("is set by the scheduler"), std::string::npos) << r.out;
  // A tenant cannot submit as, see or touch another's jobs.
  r = d.Ogai("tok-bob", {"submit", cfg, "--tenant", "alice"});
  EXPECT_NE(r.out.find("cannot submit as 'alice'"), std::string::npos) << r.out;
  r = d.Ogai(d.admin_token(), {"submit", cfg, "--tenant", "carol"});
  EXPECT_NE(r.out.find("unknown tenant 'carol' (tenants: alice, bob)"), std::string::npos) << r.out;
  const int64_t id = d.Submit("tok-alice", {cfg, "--hold"});
  ASSERT_GT(id, 0);
  r = d.Ogai("tok-bob", {"cancel", std::to_string(id)});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("no job " + std::to_string(id) + " of tenant 'bob'"), std::string::npos) << r.out;
  r = d.Ogai("tok-bob", {"jobs", "-a"});
  EXPECT_EQ(r.out.find("alice"), std::string::npos) << r.out;
  r = d.Ogai("tok-bob", {"jobs", "--bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("unknown argument '--bogus'"), std::string::npos) << r.out;
  // Nothing was created by the refused requests: the one held job only.
  r = d.Ogai(d.admin_token(), {"jobs", "-a"});
  EXPECT_EQ(Count(r.out, "\n"), 2) << r.out;
  EXPECT_NE(r.out.find("(Held)"), std::string::npos) << r.out;
  EXPECT_EQ(d.Ogai("tok-alice", {"cancel", std::to_string(id)}).code, 0);
  EXPECT_EQ(d.State(id), "CANCELLED");
}

TEST(SchedDaemon, GangAdmissionWaitsForAllRanksAndBackfillsASmallJob) {
  Daemon d("gang", "localhost slots=3\n", "tenants:\n  t: {quota: 8, token: tok}\n");
  d.Start();
  const std::string cfg = d.WriteConfig("t.yaml", TestConfig(120));
  const std::string small = d.WriteConfig("s.yaml", TestConfig(10));
  const int64_t j1 = d.Submit("tok", {cfg, "-np", "2", "parallel.dp=2"});
  ASSERT_TRUE(d.WaitState(j1, "RUNNING", 30)) << d.Show(j1);
  const int64_t j2 = d.Submit("tok", {cfg, "-np", "2", "parallel.dp=2", "train.steps=10"});
  const int64_t j3 = d.Submit("tok", {small, "-np", "1", "--hold"});
  ::usleep(600000);
  // One slot is free: the 2-rank job does not start with half of its ranks.
  EXPECT_EQ(d.State(j2), "PENDING");
  EXPECT_EQ(d.Reason(j2), "Resources");
  EXPECT_EQ(d.Reason(j3), "Held");
  RunResult r = d.Ogai("tok", {"jobs"});
  EXPECT_NE(r.out.find("REASON"), std::string::npos);
  EXPECT_NE(r.out.find("(Resources)"), std::string::npos) << r.out;
  // Released, the 1-rank job fits the free slot behind the head: backfilled.
  ASSERT_EQ(d.Ogai("tok", {"release", std::to_string(j3)}).code, 0);
  ASSERT_TRUE(d.WaitState(j3, "COMPLETED", 60)) << d.Show(j3) << ogai::testing::ReadText(d.JobDir(j3) + "/output.log");
  EXPECT_NE(d.Show(j3).find("(backfilled)"), std::string::npos) << d.Show(j3);
  r = d.Ogai("tok", {"logs", std::to_string(j3), "-f"});  // follows until the job's end: here already
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("== attempt 1 on localhost:1 =="), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("done: 10 steps"), std::string::npos) << r.out;
  ASSERT_TRUE(d.WaitState(j1, "COMPLETED", 180)) << d.Show(j1);
  ASSERT_TRUE(d.WaitState(j2, "COMPLETED", 120)) << d.Show(j2);
  EXPECT_EQ(AttemptMetrics(d, j2, 1).Start(0)->world, 2);
}

TEST(SchedDaemon, ReclaimPreemptsAfterACommitAndTheResumedJobIsBitIdentical) {
  const int steps = 150;
  const std::vector<std::string> ov = {"parallel.dp=2", "checkpoint.every_steps=0"};
  std::string ref_log;
  const Metrics ref = recovery_testing::ReferenceRun("sched_preempt", {"-np", "2"}, ov, steps, &ref_log);
  ASSERT_EQ(ref.final.size(), static_cast<size_t>(steps)) << ref_log;

  Daemon d("preempt", "localhost slots=4\n", kTenants);
  d.Start();
  const std::string cfg = d.WriteConfig("t.yaml", TestConfig(steps));
  const std::string long_cfg = d.WriteConfig("long.yaml", TestConfig(5000));
  // alice fills the pool: one job within her quota (protected by --min-runtime), one borrowed.
  const int64_t a1 = d.Submit("tok-alice", {long_cfg, "-np", "2", "--min-runtime", "1h", "parallel.dp=2"});
  ASSERT_TRUE(d.WaitState(a1, "RUNNING", 30)) << d.Show(a1);
  const int64_t a2 = d.Submit("tok-alice", {cfg, "-np", "2", ov[0], ov[1]});
  ASSERT_TRUE(d.WaitState(a2, "RUNNING", 30)) << d.Show(a2);
  ASSERT_TRUE(WaitStep(d, a2, 1, 20, 120)) << ogai::testing::ReadText(d.JobDir(a2) + "/output.log");
  // bob wants his quota: alice's borrowed job (not the one within --min-runtime) is preempted.
  RunResult q = d.Ogai("tok-alice", {"quota"});
  EXPECT_NE(q.out.find("alice   2      2       4     0"), std::string::npos) << "alice borrows 2:\n" << q.out;
  const int64_t b = d.Submit("tok-bob", {cfg, "-np", "2", "parallel.dp=2", "train.steps=10"});
  ASSERT_TRUE(d.WaitState(b, "RUNNING", 120)) << d.Show(a2) << d.Show(b);
  EXPECT_EQ(d.State(a1), "RUNNING");
  const std::string shown = d.Show(a2);
  EXPECT_NE(shown.find("preempted: checkpoint requested"), std::string::npos) << shown;
  EXPECT_NE(shown.find("ogai-run exited with 0; checkpoint at step"), std::string::npos) << shown;
  ASSERT_TRUE(d.WaitState(b, "COMPLETED", 120)) << d.Show(b);
  ASSERT_TRUE(d.WaitState(a2, "COMPLETED", 240)) << d.Show(a2) << ogai::testing::ReadText(d.JobDir(a2) + "/output.log");
  // 0 lost steps: the first attempt's last step is the checkpoint the second resumed from.
  const Metrics m1 = AttemptMetrics(d, a2, 1), m2 = AttemptMetrics(d, a2, 2);
  ASSERT_NE(m2.Start(0), nullptr);
  EXPECT_GT(m1.MaxStep(), 0);
  EXPECT_LT(m1.MaxStep(), steps);
  EXPECT_EQ(m2.Start(0)->resume_step, m1.MaxStep()) << "steps lost to the preemption";
  ExpectBitIdentical(Merged(d, a2, 2), ref, steps);
  EXPECT_EQ(d.Ogai("tok-alice", {"cancel", std::to_string(a1)}).code, 0);
  ASSERT_TRUE(d.WaitState(a1, "CANCELLED", 60)) << d.Show(a1);
}

TEST(SchedDaemon, AJobKilledUnderItIsRequeuedAndResumesFromItsLastCheckpoint) {
  const int steps = 100;
  const std::vector<std::string> ov = {"parallel.dp=2", "checkpoint.every_steps=10"};
  std::string ref_log;
  const Metrics ref = recovery_testing::ReferenceRun("sched_requeue", {"-np", "2"}, ov, steps, &ref_log);
  ASSERT_EQ(ref.final.size(), static_cast<size_t>(steps)) << ref_log;
  Daemon d("requeue", "localhost slots=2\n", "tenants:\n  t: {quota: 2, token: tok}\n");
  d.Start();
  const std::string cfg = d.WriteConfig("t.yaml", TestConfig(steps));
  const int64_t id = d.Submit("tok", {cfg, "-np", "2", "--max-requeues", "1", ov[0], ov[1]});
  ASSERT_TRUE(d.WaitState(id, "RUNNING", 30));
  ASSERT_TRUE(WaitStep(d, id, 1, 25, 120));
  // The job's launcher dies (with it, its ranks: ogai-run's orphan guard).
  const pid_t run = std::atoi(ogai::testing::ReadText(d.JobDir(id) + "/a.1.runpid").c_str());
  ASSERT_GT(run, 1);
  ASSERT_EQ(::kill(run, SIGKILL), 0);
  ASSERT_TRUE(d.WaitState(id, "COMPLETED", 240)) << d.Show(id) << ogai::testing::ReadText(d.JobDir(id) + "/output.log");
  const std::string shown = d.Show(id);
  EXPECT_NE(shown.find("failed (ogai-run exited with 137); requeued 1 of 1"), std::string::npos) << shown;
  const Metrics m2 = AttemptMetrics(d, id, 2);
  ASSERT_NE(m2.Start(0), nullptr);
  EXPECT_GE(m2.Start(0)->resume_step, 20);
  ExpectBitIdentical(Merged(d, id, 2), ref, steps);
}

TEST(SchedDaemon, KillNineOfTheDaemonLosesNoJobAndRunsNoneTwice) {
  Daemon d("kill9", "localhost slots=2\n", "tenants:\n  t: {quota: 2, token: tok}\n");
  d.Start();
  const std::string cfg = d.WriteConfig("t.yaml", TestConfig(120));
  const int64_t running = d.Submit("tok", {cfg, "-np", "2", "parallel.dp=2"});
  ASSERT_TRUE(d.WaitState(running, "RUNNING", 30));
  const int64_t queued = d.Submit("tok", {cfg, "-np", "2", "parallel.dp=2", "train.steps=10"});
  ASSERT_TRUE(WaitStep(d, running, 1, 5, 120));
  EXPECT_EQ(d.State(queued), "PENDING");
  d.Kill9();
  ::usleep(500000);
  // The job kept running without its scheduler.
  const int64_t before = AttemptMetrics(d, running, 1).MaxStep();
  ASSERT_TRUE(WaitStep(d, running, 1, before + 3, 60));
  d.Start();
  EXPECT_EQ(d.State(running), "RUNNING");
  EXPECT_EQ(d.State(queued), "PENDING");
  EXPECT_NE(d.daemon_log().find("job " + std::to_string(running) + ": re-attached to attempt 1"), std::string::npos)
      << d.daemon_log();
  ASSERT_TRUE(d.WaitState(running, "COMPLETED", 240)) << d.Show(running);
  ASSERT_TRUE(d.WaitState(queued, "COMPLETED", 120)) << d.Show(queued);
  for (int64_t id : {running, queued}) {
    const std::string log = ogai::testing::ReadText(d.JobDir(id) + "/output.log");
    EXPECT_EQ(Count(log, "== attempt"), 1) << "job " << id << " ran more than once:\n" << log;
    EXPECT_NE(d.Show(id).find("attempts:   1 "), std::string::npos) << d.Show(id);
  }
  // Every step of the running job exactly once.
  const Metrics m = AttemptMetrics(d, running, 1);
  EXPECT_EQ(m.lines.size(), 120u);
  EXPECT_EQ(m.final.size(), 120u);
}

}  // namespace
}  // namespace ogai::sched_testing
