// Running one attempt of a job as `ogai-run` on its assigned hosts, and watching it.
//
// The job's folder (STATE/jobs/<id>/) holds: train.yaml (the submitted config), output.log
// (every attempt's output, appended), ckpt/ (checkpoint.dir), metrics.a<N>.rank<R>.jsonl (the
// metrics of attempt N) and, per attempt, a.<N>.sh (the supervisor script), a.<N>.pid (the
// script's pid), a.<N>.runpid (ogai-run's pid), a.<N>.store (the job's store address and token,
// written by ogai-run: OGAI_RUN_STORE_FILE) and a.<N>.rc (ogai-run's exit code, once it ended).
// The script runs in a session of its own, so the daemon can die and come back: the files say
// what became of the attempt meanwhile.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "sched/types.h"

namespace ogai::sched {

struct RunnerOptions {
  std::string ogai_run = "ogai-run";                  // the launcher binary
  std::vector<std::string> extra_env;                 // NAME=value for every attempt (tests: the ssh config)
  std::string backend = "local";                      // local | slurm (slurm_runner.cc)
  std::map<std::string, std::string> slurm_accounts;  // tenant -> sbatch --account
};

std::string JobDir(const std::string& state_dir, int64_t id);
std::string AttemptFile(const std::string& job_dir, int attempt, const std::string& what);
// Rank 0's metrics file of attempt `attempt` (metrics.a<N>.rank0.jsonl).
std::string Rank0MetricsFile(const std::string& job_dir, int attempt);

// Writes the job's folder (first attempt) and starts attempt job.attempt on job.hosts.
// Returns the supervisor's pid (local), or the Slurm job id (slurm).
Result<int64_t> StartAttempt(const RunnerOptions& o, const std::string& job_dir, const Job& job);

// Small file helpers of the job folder: the whole file ("" when unreadable); write to a
// temporary, fsync, rename.
std::string ReadSmallFile(const std::string& path);
Status WriteFileAtomic(const std::string& path, const std::string& text, unsigned mode);
// The job's folder and config (first attempt).
Status WriteJobFiles(const std::string& job_dir, const Job& job);
// The supervisor script's body: run ogai-run, record its pid (a.N.runpid) and exit code (a.N.rc).
std::string SupervisorBody(const RunnerOptions& o, const std::string& job_dir, const Job& job, bool with_hosts);

// The attempt's `ogai-run ...` command line and environment, for a shell (both backends).
std::string LaunchCommand(const RunnerOptions& o, const std::string& job_dir, const Job& job, bool with_hosts);

enum class AttemptState { kRunning, kExited, kLost };
struct AttemptStatus {
  AttemptState state = AttemptState::kRunning;
  int exit_code = -1;  // kExited: ogai-run's exit code
};
// Reaps the supervisor when it is this process's child; then reads the attempt's files.
AttemptStatus PollAttempt(const RunnerOptions& o, const std::string& job_dir, int attempt, int64_t pid);

// Sends `sig` to the attempt's ogai-run (which stops its ranks itself); under Slurm, to the
// job's processes with scancel.
void SignalAttempt(const RunnerOptions& o, const std::string& job_dir, int attempt, int64_t pid, int sig);

// The Slurm backend (slurm_runner.cc): sbatch of the attempt's script, squeue, scancel.
Result<int64_t> StartSlurmAttempt(const RunnerOptions& o, const std::string& job_dir, const Job& job);
AttemptStatus PollSlurmAttempt(const std::string& job_dir, int attempt, int64_t slurm_id);
void SignalSlurmAttempt(int64_t slurm_id, int sig);

// Asks the attempt's ranks to checkpoint at their next step boundary and stop (the key
// "sched/preempt" in the job's store; train/ reads it).
Status RequestCheckpoint(const std::string& job_dir, int attempt);

struct Progress {
  int64_t step = 0;            // last step rank 0 wrote in this attempt's metrics
  int64_t committed_step = 0;  // ckpt/latest
};
Progress ReadProgress(const std::string& job_dir, int attempt);

}  // namespace ogai::sched
