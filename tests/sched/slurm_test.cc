// The scheduler with Slurm as its engine (ogai-sched --backend slurm) against the single-node
// Slurm of scripts/testenv/slurm.sh: every attempt is a batch job (sbatch on the assigned
// node), visible in squeue; a tenant borrowing the pool is preempted after a checkpoint commit
// when the owner submits, and its resumed batch job ends bit-identical with 0 lost steps; a
// cancel is an scancel. Without SLURM_CONF the test skips.
#include <unistd.h>

#include <cstdlib>
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

TEST(SchedSlurm, AttemptsAreBatchJobsAndAPreemptedJobResumesBitIdentical) {
  const char* conf = std::getenv("SLURM_CONF");
  if (conf == nullptr || *conf == '\0') {
    GTEST_SKIP() << "no test Slurm: SLURM_CONF is not set (scripts/test.sh starts one with scripts/testenv/slurm.sh)";
  }
  const int steps = 120;
  const std::vector<std::string> ov = {"parallel.dp=2", "checkpoint.every_steps=0"};
  std::string ref_log;
  const Metrics ref = recovery_testing::ReferenceRun("sched_slurm", {"-np", "2"}, ov, steps, &ref_log);
  ASSERT_EQ(ref.final.size(), static_cast<size_t>(steps)) << ref_log;

  Daemon d("slurm", "localhost slots=4\n",
           "tenants:\n  alice: {quota: 2, borrow: 2, token: tok-alice}\n  bob: {quota: 2, token: tok-bob}\n",
           {std::string("SLURM_CONF=") + conf}, {"--backend", "slurm"});
  d.Start();
  const std::string cfg = d.WriteConfig("t.yaml", TestConfig(steps));
  const std::string long_cfg = d.WriteConfig("long.yaml", TestConfig(5000));
  const int64_t a1 = d.Submit("tok-alice", {long_cfg, "-np", "2", "--min-runtime", "1h", "parallel.dp=2"});
  const int64_t a2 = d.Submit("tok-alice", {cfg, "-np", "2", ov[0], ov[1]});
  ASSERT_TRUE(d.WaitState(a2, "RUNNING", 60)) << d.Show(a2);
  for (double t = 0; t < 120 && ReadMetrics(d.JobDir(a2) + "/metrics.a1.rank0.jsonl").MaxStep() < 15; t += 0.1)
    ::usleep(100000);
  // The attempt is a Slurm batch job.
  const std::string slurm_id = ogai::testing::ReadText(d.JobDir(a2) + "/a.1.slurmid");
  ASSERT_FALSE(slurm_id.empty());
  const RunResult q = launch::testing::RunCommand({"squeue", "-h", "-o", "%i %j %T"}, {}, 30);
  EXPECT_NE(q.out.find(slurm_id.substr(0, slurm_id.size() - 1) + " ogai-" + std::to_string(a2) + " RUNNING"),
            std::string::npos)
      << q.out << q.err;
  const int64_t b = d.Submit("tok-bob", {cfg, "-np", "2", "parallel.dp=2", "train.steps=10"});
  ASSERT_TRUE(d.WaitState(b, "COMPLETED", 180)) << d.Show(a2) << d.Show(b);
  ASSERT_TRUE(d.WaitState(a2, "COMPLETED", 240)) << d.Show(a2) << ogai::testing::ReadText(d.JobDir(a2) + "/output.log");
  EXPECT_NE(d.Show(a2).find("preempted: checkpoint requested"), std::string::npos) << d.Show(a2);
  const Metrics m1 = ReadMetrics(d.JobDir(a2) + "/metrics.a1.rank0.jsonl");
  const Metrics m2 = ReadMetrics(d.JobDir(a2) + "/metrics.a2.rank0.jsonl");
  ASSERT_NE(m2.Start(0), nullptr);
  EXPECT_EQ(m2.Start(0)->resume_step, m1.MaxStep()) << "steps lost to the preemption";
  std::map<int64_t, std::string> bits;
  for (const Metrics* m : {&m1, &m2})
    for (const auto& [step, line] : m->final) bits[step] = line.loss_bits;
  ASSERT_EQ(bits.size(), static_cast<size_t>(steps));
  for (const auto& [step, line] : ref.final) EXPECT_EQ(bits[step], line.loss_bits) << "step " << step;
  EXPECT_NE(ogai::testing::ReadText(d.JobDir(a2) + "/output.log").find("(slurm job "), std::string::npos);
  // Cancel: scancel of the running batch job.
  ASSERT_EQ(d.Ogai("tok-alice", {"cancel", std::to_string(a1)}).code, 0);
  ASSERT_TRUE(d.WaitState(a1, "CANCELLED", 120)) << d.Show(a1);
  const std::string id1 = ogai::testing::ReadText(d.JobDir(a1) + "/a.1.slurmid");
  for (int i = 0; i < 100; ++i) {
    const RunResult r = launch::testing::RunCommand({"squeue", "-h", "-o", "%i"}, {}, 30);
    if (r.out.find(id1) == std::string::npos) break;
    ::usleep(200000);
  }
  EXPECT_EQ(launch::testing::RunCommand({"squeue", "-h", "-o", "%i"}, {}, 30).out.find(id1), std::string::npos);
}

}  // namespace
}  // namespace ogai::sched_testing
