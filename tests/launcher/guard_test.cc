// The orphan guard (launcher/guard.h) of an agent killed with SIGKILL kills the processes
// that carry its job marker, and no others: not the ranks of a replacement agent of the same
// run and agent number (a new round on the same node while the old guard is still sweeping),
// whose marker differs only in the agent's pid (AgentMarkerValue). Before the pid was in the
// marker, the old agent's guard took the new agent's ranks for its own; that race needed a
// restart within the guard's last 0.3 s to show in a whole-job test, here it is set up on
// purpose.
#include "launcher/guard.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "launcher/node_runner.h"
#include "launcher/process.h"
#include "rank/contract.h"
#include "tests/util/job.h"

namespace ogai::launch {
namespace {

// A `sleep 60` whose environment carries OGAI_AGENT_ID=`agent_id`; Spawn returns once it has
// exec'd, so the marker is in its /proc environ before the guard looks.
pid_t SleeperOf(const std::string& agent_id) {
  SpawnRequest req;
  req.argv = {"/bin/sleep", "60"};
  req.env = {"PATH=/usr/bin:/bin", std::string(kEnvAgentId) + "=" + agent_id};
  req.parent_death_signal = 0;
  auto pid = Spawn(req);
  EXPECT_TRUE(pid.ok()) << pid.status().ToString();
  return pid.ok() ? *pid : -1;
}

TEST(OrphanGuard, KillsItsAgentsRanksAndNotTheReplacementAgents) {
  ogai::testing::TempDir d("ogai_guard");
  const std::string job_tmp = d / "job";
  std::filesystem::create_directories(job_tmp);
  const std::string run = "guardtest" + std::to_string(::getpid());

  // The old agent: a child that starts its guard, says the guard's pid, and waits to be killed.
  int rep[2];
  ASSERT_EQ(::pipe(rep), 0);
  const pid_t agent = ::fork();
  ASSERT_GE(agent, 0);
  if (agent == 0) {
    ::close(rep[0]);
    auto g = OrphanGuard::Start(std::string(kEnvAgentId) + "=" + AgentMarkerValue(run, 0, ::getpid()), job_tmp);
    const pid_t gp = g.ok() ? (*g)->pid() : -1;
    if (::write(rep[1], &gp, sizeof gp) != sizeof gp) ::_exit(1);
    for (;;) ::pause();
  }
  ::close(rep[1]);
  pid_t guard = -1;
  ASSERT_EQ(::read(rep[0], &guard, sizeof guard), static_cast<ssize_t>(sizeof guard));
  ::close(rep[0]);
  ASSERT_GT(guard, 0);

  // A rank of the old agent, and one of the replacement agent (this process stands for it:
  // same run, same agent number, another pid).
  const pid_t old_rank = SleeperOf(AgentMarkerValue(run, 0, agent));
  const pid_t new_rank = SleeperOf(AgentMarkerValue(run, 0, ::getpid()));
  ASSERT_GT(old_rank, 0);
  ASSERT_GT(new_rank, 0);

  ::kill(agent, SIGKILL);
  int st = 0;
  ASSERT_EQ(::waitpid(agent, &st, 0), agent);
  // The guard is no child of ours (its parent was the agent): wait until it is gone or a
  // zombie, which it becomes after its sweep (three quiet rounds of 0.1 s).
  const double give_up = Now() + 30;
  while (ProcessAlive(guard) && Now() < give_up) ::usleep(20 * 1000);
  EXPECT_FALSE(ProcessAlive(guard)) << "the guard did not finish within 30 s";

  ASSERT_EQ(::waitpid(old_rank, &st, 0), old_rank);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "the old agent's rank: " << DescribeWaitStatus(st);
  EXPECT_EQ(::waitpid(new_rank, &st, WNOHANG), 0)
      << "the replacement agent's rank was killed: " << DescribeWaitStatus(st);
  EXPECT_FALSE(std::filesystem::exists(job_tmp)) << "the old job's temp folder is still there";
  ::kill(new_rank, SIGKILL);
  ::waitpid(new_rank, &st, 0);
}

}  // namespace
}  // namespace ogai::launch
