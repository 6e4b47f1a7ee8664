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
#include <string>
#include <vector>

#include "core/status.h"
#include "sched/types.h"

namespace ogai::sched {

struct RunnerOptions {
  std::string ogai_run = "ogai-run";   // the launcher binary
  std::vector<std::string> extra_env;  // NAME=value for every attempt (tests: the ssh config)
};

std::string JobDir(const std::string& state_dir, int64_t id);
std::string AttemptFile(const std::string& job_dir, int attempt, const std::string& what);

// Writes the job's folder (first attempt) and starts attempt job.attempt on job.hosts.
// Returns the supervisor's pid.
Result<int64_t> StartAttempt(const RunnerOptions& o, const std::string& job_dir, const Job& job);

enum class AttemptState { kRunning, kExited, kLost };
struct AttemptStatus {
  AttemptState state = AttemptState::kRunning;
  int exit_code = -1;  // kExited: ogai-run's exit code
};
// Reaps the supervisor when it is this process's child; then reads the attempt's files.
AttemptStatus PollAttempt(const std::string& job_dir, int attempt, int64_t pid);

// Sends `sig` to the attempt's ogai-run (which stops its ranks itself).
void SignalAttempt(const std::string& job_dir, int attempt, int sig);

// Asks the attempt's ranks to checkpoint at their next step boundary and stop (the key
// "sched/preempt" in the job's store; train/ reads it).
Status RequestCheckpoint(const std::string& job_dir, int attempt);

struct Progress {
  int64_t step = 0;            // last step rank 0 wrote in this attempt's metrics
  int64_t committed_step = 0;  // ckpt/latest
};
Progress ReadProgress(const std::string& job_dir, int attempt);

}  // namespace ogai::sched
