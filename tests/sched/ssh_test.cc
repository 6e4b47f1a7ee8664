// The scheduler with a pool of "hosts" reached over the test sshd (127.0.0.2 and 127.0.0.3,
// scripts/testenv/sshd.sh) and one that does not answer (127.0.0.9):
//   * the dead host is marked down at start with the reason, and no job is placed on it;
//   * a job on two hosts loses one (its agent and ranks SIGKILLed): ogai-run gives up (no
//     restarts of its own), the scheduler requeues the job, and it resumes from its last
//     checkpoint and ends bit-identical to an uninterrupted run.
// Without the test sshd (OGAI_TEST_SSH_CONFIG) the tests skip.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/recovery/recovery_util.h"
#include "tests/sched/sched_util.h"

namespace ogai::sched_testing {
namespace {

using recovery_testing::EnvOf;
using recovery_testing::Metrics;
using recovery_testing::ParentOf;
using recovery_testing::ReadMetrics;
using recovery_testing::TestConfig;

std::string Cmdline(pid_t p) {
  std::string cmd = ogai::testing::ReadText("/proc/" + std::to_string(p) + "/cmdline");
  for (char& c : cmd)
    if (c == '\0') c = ' ';
  return cmd;
}

// This job's ranks on host `ip` and their agent: ranks run in the job's folder, and their
// parent is the `ogai-run --agent` whose sshd session (SSH_CONNECTION) names `ip`. (Other
// jobs on this machine, other tests' included, are never touched.)
pid_t AgentOf(const std::string& job_dir, const std::string& ip, std::vector<pid_t>* ranks) {
  char real[4096];
  const std::string dir = ::realpath(job_dir.c_str(), real) ? real : job_dir;
  DIR* d = ::opendir("/proc");
  pid_t agent = -1;
  while (dirent* e = ::readdir(d)) {
    const pid_t p = std::atoi(e->d_name);
    if (p <= 1 || Cmdline(p).find("ogai-worker") == std::string::npos) continue;
    char cwd[4096];
    const ssize_t n = ::readlink(("/proc/" + std::to_string(p) + "/cwd").c_str(), cwd, sizeof(cwd) - 1);
    if (n <= 0 || std::string(cwd, static_cast<size_t>(n)) != dir) continue;
    const pid_t parent = ParentOf(p);
    if (parent > 1 && Cmdline(parent).find("--agent") != std::string::npos &&
        EnvOf(parent, "SSH_CONNECTION").find(" " + ip + " ") != std::string::npos) {
      agent = parent;
      ranks->push_back(p);
    }
  }
  ::closedir(d);
  return agent;
}

TEST(SchedSsh, ADeadHostIsMarkedDownAndAJobThatLosesANodeIsRequeuedAndResumes) {
  const std::string ssh = launch::testing::TestSshEnv();
  if (ssh.empty()) GTEST_SKIP() << launch::testing::kNoTestSshd;
  const int steps = 80;
  const std::vector<std::string> ov = {"parallel.dp=2", "checkpoint.every_steps=10"};
  std::string ref_log;
  const Metrics ref = recovery_testing::ReferenceRun("sched_node", {"-np", "2"}, ov, steps, &ref_log);
  ASSERT_EQ(ref.final.size(), static_cast<size_t>(steps)) << ref_log;

  Daemon d("ssh", "127.0.0.9 slots=2\n127.0.0.2 slots=1\n127.0.0.3 slots=1\n",
           "tenants:\n  t: {quota: 4, token: tok}\n", {ssh});
  d.Start();
  RunResult r = d.Ogai("tok", {"nodes"});
  EXPECT_NE(r.out.find("127.0.0.9  2      0     down   ssh 127.0.0.9"), std::string::npos) << r.out;
  const std::string cfg = d.WriteConfig("t.yaml", TestConfig(steps));
  const int64_t id = d.Submit("tok", {cfg, "-np", "2", "--max-requeues", "2", ov[0], ov[1]});
  ASSERT_TRUE(d.WaitState(id, "RUNNING", 30)) << d.Show(id);
  EXPECT_NE(d.Show(id).find("2 on 127.0.0.2:1,127.0.0.3:1"), std::string::npos) << d.Show(id);
  for (double t = 0; t < 120 && ReadMetrics(d.JobDir(id) + "/metrics.a1.rank0.jsonl").MaxStep() < 25; t += 0.1)
    ::usleep(100000);
  // Node 127.0.0.3 goes: its agent and its rank at once.
  std::vector<pid_t> ranks;
  const pid_t agent = AgentOf(d.JobDir(id), "127.0.0.3", &ranks);
  ASSERT_GT(agent, 1) << "no agent of this job for 127.0.0.3";
  ASSERT_EQ(::kill(agent, SIGKILL), 0);
  for (pid_t p : ranks) ::kill(p, SIGKILL);
  ASSERT_TRUE(d.WaitState(id, "COMPLETED", 240)) << d.Show(id) << ogai::testing::ReadText(d.JobDir(id) + "/output.log");
  const std::string shown = d.Show(id);
  EXPECT_NE(shown.find("failed (ogai-run exited with 125); requeued 1 of 2"), std::string::npos) << shown;
  const Metrics m2 = ReadMetrics(d.JobDir(id) + "/metrics.a2.rank0.jsonl");
  ASSERT_NE(m2.Start(0), nullptr) << shown << ogai::testing::ReadText(d.JobDir(id) + "/output.log");
  EXPECT_GE(m2.Start(0)->resume_step, 20);
  std::map<int64_t, std::string> bits;
  for (int a = 1; a <= 2; ++a)
    for (const auto& [step, line] : ReadMetrics(d.JobDir(id) + "/metrics.a" + std::to_string(a) + ".rank0.jsonl").final)
      bits[step] = line.loss_bits;
  ASSERT_EQ(bits.size(), static_cast<size_t>(steps));
  for (const auto& [step, line] : ref.final) EXPECT_EQ(bits[step], line.loss_bits) << "step " << step;
}

}  // namespace
}  // namespace ogai::sched_testing
