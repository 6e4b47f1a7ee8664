// The Slurm backend (ogai-sched --backend slurm): each attempt is one batch job, submitted with
// sbatch on the nodes the policy chose (--nodelist), its script the same supervisor as the
// local backend's (ogai-run inside the allocation starts one agent per node with srun);
// squeue says whether it still runs, the supervisor's a.N.rc how it ended (sacct needs
// accounting, which a small Slurm may not have), scancel stops it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/shell_quote.h"
#include "launcher/remote.h"
#include "sched/runner.h"

namespace ogai::sched {

namespace {

// Runs argv, returns (exit code, stdout+stderr).
std::pair<int, std::string> Capture(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe(fds) != 0) return {-1, "pipe failed"};
  const pid_t pid = ::fork();
  if (pid < 0) return {-1, "fork failed"};
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> av;
    for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    ::execvp(av[0], av.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<int64_t> StartSlurmAttempt(const RunnerOptions& o, const std::string& job_dir, const Job& job) {
  const std::string a = std::to_string(job.attempt);
  std::string nodes;
  for (const auto& p : job.hosts) nodes += (nodes.empty() ? "" : ",") + p.node;
  const std::string script = "#!/bin/sh\n# attempt " + a + " of job " + std::to_string(job.id) +
                             ", written by ogai-sched (--backend slurm)\n"
                             "echo \"== attempt " +
                             a + " on " + HostsText(job.hosts) + " (slurm job $SLURM_JOB_ID) ==\" >> " +
                             ShellQuote(job_dir + "/output.log") + "\n" +
                             SupervisorBody(o, job_dir, job, /*with_hosts=*/false);
  const std::string path = AttemptFile(job_dir, job.attempt, "sbatch");
  OGAI_RETURN_IF_ERROR(WriteFileAtomic(path, script, 0700));
  std::vector<std::string> argv = {"sbatch",
                                   "--parsable",
                                   "--job-name=ogai-" + std::to_string(job.id),
                                   "--chdir=" + job_dir,
                                   "--output=" + AttemptFile(job_dir, job.attempt, "slurm.out"),
                                   "--nodes=" + std::to_string(job.hosts.size()),
                                   "--ntasks=" + std::to_string(job.ranks),
                                   "--nodelist=" + nodes};
  auto acct = o.slurm_accounts.find(job.tenant);
  if (acct != o.slurm_accounts.end()) argv.push_back("--account=" + acct->second);
  argv.push_back(path);
  const auto [code, out] = Capture(argv);
  const int64_t id = std::atoll(out.c_str());
  if (code != 0 || id <= 0) return Unavailable("sbatch failed (exit " + std::to_string(code) + "): " + Trim(out));
  (void)WriteFileAtomic(AttemptFile(job_dir, job.attempt, "slurmid"), std::to_string(id) + "\n", 0600);
  return id;
}

AttemptStatus PollSlurmAttempt(const std::string& job_dir, int attempt, int64_t slurm_id) {
  AttemptStatus s;
  const std::string rc = ReadSmallFile(AttemptFile(job_dir, attempt, "rc"));
  if (!rc.empty()) {
    s.state = AttemptState::kExited;
    s.exit_code = std::atoi(rc.c_str());
    return s;
  }
  const auto [code, out] = Capture({"squeue", "-h", "-j", std::to_string(slurm_id), "-o", "%T"});
  const std::string st = Trim(out);
  for (const char* live : {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING"}) {
    if (code == 0 && st == live) return s;  // still there
  }
  if (code != 0 && out.find("Invalid job id") == std::string::npos) return s;  // slurmctld not answering: ask again
  // Gone from the queue: one more look at the exit file (written just before the end).
  const std::string rc2 = ReadSmallFile(AttemptFile(job_dir, attempt, "rc"));
  if (!rc2.empty()) {
    s.state = AttemptState::kExited;
    s.exit_code = std::atoi(rc2.c_str());
    return s;
  }
  s.state = AttemptState::kLost;
  return s;
}

void SignalSlurmAttempt(int64_t slurm_id, int sig) {
  if (slurm_id <= 0) return;
  if (sig == SIGKILL) {
    Capture({"scancel", std::to_string(slurm_id)});
  } else {
    Capture(
        {"scancel", "--full", "--signal=" + std::string(sig == SIGTERM ? "TERM" : "INT"), std::to_string(slurm_id)});
  }
}

}  // namespace ogai::sched
