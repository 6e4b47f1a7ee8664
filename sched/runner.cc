#include "sched/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/file_io.h"
#include "core/shell_quote.h"
#include "launcher/remote.h"
#include "store/store.h"

namespace ogai::sched {

std::string ReadSmallFile(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? std::move(*text) : std::string();
}

Status WriteFileAtomic(const std::string& path, const std::string& text, unsigned mode) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("cannot create " + tmp, errno);
  Status st = WriteAllFd(fd, text.data(), text.size(), tmp);
  if (st.ok() && ::fsync(fd) != 0) st = ErrnoError("cannot sync " + tmp, errno);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = ErrnoError("cannot rename " + tmp, errno);
  return st;
}

std::string JobDir(const std::string& state_dir, int64_t id) { return state_dir + "/jobs/" + std::to_string(id); }

std::string Rank0MetricsFile(const std::string& job_dir, int attempt) {
  return job_dir + "/metrics.a" + std::to_string(attempt) + ".rank0.jsonl";
}

std::string AttemptFile(const std::string& job_dir, int attempt, const std::string& what) {
  return job_dir + "/a." + std::to_string(attempt) + "." + what;
}

std::string LaunchCommand(const RunnerOptions& o, const std::string& job_dir, const Job& job, bool with_hosts) {
  const int a = job.attempt;
  std::string cmd = "OGAI_RUN_STORE_FILE=" + ShellQuote(AttemptFile(job_dir, a, "store")) + " " +
                    ShellQuote(o.ogai_run) + " -np " + std::to_string(job.ranks);
  if (with_hosts) cmd += " -H " + ShellQuote(HostsText(job.hosts));
  if (job.max_restarts > 0) cmd += " --max-restarts " + std::to_string(job.max_restarts);
  cmd += " " + ShellQuote(job_dir + "/train.yaml");
  for (const auto& ov : job.overrides) cmd += " " + ShellQuote(ov);
  // The scheduler owns where checkpoints and metrics go: after the user's overrides, so they win.
  cmd += " " + ShellQuote("checkpoint.dir=" + job_dir + "/ckpt");
  cmd += " " + ShellQuote("train.metrics_file=" + job_dir + "/metrics.a" + std::to_string(a) + ".rank{rank}.jsonl");
  return cmd;
}

Status WriteJobFiles(const std::string& job_dir, const Job& job) {
  if (::mkdir(job_dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("cannot create " + job_dir, errno);
  const std::string config = job_dir + "/train.yaml";
  if (::access(config.c_str(), F_OK) != 0) OGAI_RETURN_IF_ERROR(WriteFileAtomic(config, job.config_yaml, 0600));
  return Status::Ok();
}

std::string SupervisorBody(const RunnerOptions& o, const std::string& job_dir, const Job& job, bool with_hosts) {
  const std::string a = std::to_string(job.attempt);
  std::string env;
  for (const auto& e : o.extra_env) env += "export " + ShellQuote(e) + "\n";
  return "cd " + ShellQuote(job_dir) + " || exit 1\n" + env + LaunchCommand(o, job_dir, job, with_hosts) +
         " >> output.log 2>&1 </dev/null &\n"
         "child=$!\n"
         "echo $child > a." +
         a + ".runpid.tmp && mv a." + a + ".runpid.tmp a." + a +
         ".runpid\n"
         "wait $child\n"
         "rc=$?\n"
         "echo $rc > a." +
         a + ".rc.tmp && mv a." + a + ".rc.tmp a." + a + ".rc\n";
}

Result<int64_t> StartAttempt(const RunnerOptions& o, const std::string& job_dir, const Job& job) {
  OGAI_RETURN_IF_ERROR(WriteJobFiles(job_dir, job));
  if (o.backend == "slurm") return StartSlurmAttempt(o, job_dir, job);
  const int a = job.attempt;
  const std::string script = "#!/bin/sh\n# attempt " + std::to_string(a) + " of job " + std::to_string(job.id) +
                             ", written by ogai-sched\n"
                             "echo \"== attempt " +
                             std::to_string(a) + " on " + HostsText(job.hosts) + " ==\" >> " +
                             ShellQuote(job_dir + "/output.log") + "\n" + SupervisorBody(o, job_dir, job, true);
  const std::string script_path = AttemptFile(job_dir, a, "sh");
  OGAI_RETURN_IF_ERROR(WriteFileAtomic(script_path, script, 0700));
  const std::string pid_path = AttemptFile(job_dir, a, "pid");
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("cannot start job " + std::to_string(job.id), errno);
  if (pid == 0) {
    ::setsid();
    // Record our pid before anything else runs, so a daemon restarted now finds the attempt.
    const std::string me = std::to_string(::getpid()) + "\n";
    const int fd = ::open(pid_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      (void)!::write(fd, me.data(), me.size());
      ::fsync(fd);
      ::close(fd);
    }
    // Fresh signal state for the script (the daemon blocks some).
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int fdn = 3; fdn < 1024; ++fdn) ::close(fdn);
    ::execl("/bin/sh", "sh", script_path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return static_cast<int64_t>(pid);
}

AttemptStatus PollAttempt(const RunnerOptions& o, const std::string& job_dir, int attempt, int64_t pid) {
  if (o.backend == "slurm") return PollSlurmAttempt(job_dir, attempt, pid);
  AttemptStatus s;
  bool alive = false;
  if (pid > 0) {
    int status = 0;
    const pid_t r = ::waitpid(static_cast<pid_t>(pid), &status, WNOHANG);
    if (r == 0)
      alive = true;  // our child, still running
    else if (r < 0 && errno == ECHILD)
      alive = ::kill(static_cast<pid_t>(pid), 0) == 0;  // re-attached
  }
  const std::string rc = ReadSmallFile(AttemptFile(job_dir, attempt, "rc"));
  if (!rc.empty()) {
    s.state = AttemptState::kExited;
    s.exit_code = std::atoi(rc.c_str());
    return s;
  }
  if (alive) return s;
  // The supervisor is gone without an exit code: if ogai-run still runs (the supervisor was
  // killed), the attempt still runs.
  const std::string rp = ReadSmallFile(AttemptFile(job_dir, attempt, "runpid"));
  if (!rp.empty() && ::kill(static_cast<pid_t>(std::atoll(rp.c_str())), 0) == 0) return s;
  s.state = AttemptState::kLost;
  return s;
}

void SignalAttempt(const RunnerOptions& o, const std::string& job_dir, int attempt, int64_t pid, int sig) {
  if (o.backend == "slurm") {
    SignalSlurmAttempt(pid, sig);
    return;
  }
  const std::string rp = ReadSmallFile(AttemptFile(job_dir, attempt, "runpid"));
  const pid_t p = static_cast<pid_t>(std::atoll(rp.c_str()));
  if (p > 1) ::kill(p, sig);
}

Status RequestCheckpoint(const std::string& job_dir, int attempt) {
  const std::string path = AttemptFile(job_dir, attempt, "store");
  std::istringstream in(ReadSmallFile(path));
  std::string addr, token;
  int port = 0;
  if (!(in >> addr >> port >> token)) return Unavailable("job store not known yet (" + path + " is not written)");
  OGAI_ASSIGN_OR_RETURN(auto store, store::ConnectTcpStore(addr, port, token, std::chrono::milliseconds(2000)));
  return store->Set("sched/preempt", "1");
}

Progress ReadProgress(const std::string& job_dir, int attempt) {
  Progress p;
  const std::string latest = ReadSmallFile(job_dir + "/ckpt/latest");  // "step_00000100\n"
  if (latest.rfind("step_", 0) == 0) p.committed_step = std::atoll(latest.c_str() + 5);
  std::ifstream f(Rank0MetricsFile(job_dir, attempt));
  if (f) {
    f.seekg(0, std::ios::end);
    const std::streamoff size = f.tellg();
    const std::streamoff from = size > 4096 ? size - 4096 : 0;
    f.seekg(from);
    std::string line, last_step;
    while (std::getline(f, line)) {
      if (line.rfind("{\"step\": ", 0) == 0) last_step = line;
    }
    if (!last_step.empty()) p.step = std::atoll(last_step.c_str() + 9);
  }
  if (p.step < p.committed_step) p.step = p.committed_step;
  return p;
}

}  // namespace ogai::sched
