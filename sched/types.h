// The scheduler's data: nodes of the pool, tenants and their quotas, jobs. Plain values with
// no I/O: the policy (policy.h) reads them, the state database (state_db.h) stores them, the
// API (service.cc) shows them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ogai::sched {

enum class JobState { kPending, kRunning, kPreempting, kCompleted, kFailed, kCancelled };
const char* JobStateName(JobState s);
// "PENDING" ... -> state; false when unknown.
bool ParseJobState(const std::string& name, JobState* out);
inline bool IsActive(JobState s) { return s == JobState::kRunning || s == JobState::kPreempting; }
inline bool IsFinal(JobState s) {
  return s == JobState::kCompleted || s == JobState::kFailed || s == JobState::kCancelled;
}

struct Node {
  std::string name;
  int slots = 1;
  bool up = true;
  std::string down_reason;  // why it is down ("" when up)
};

struct Tenant {
  std::string name;
  int quota = 0;          // nominal quota in ranks
  int borrow_limit = 0;   // ranks it may use beyond its quota when others leave theirs unused
  double usage = 0;       // decayed rank-seconds (fair share)
  double usage_unix = 0;  // when `usage` was last brought up to date
};

// One share of a job's gang: `slots` ranks on `node`.
struct Placement {
  std::string node;
  int slots = 0;
};

struct Job {
  int64_t id = 0;
  std::string tenant;
  int ranks = 1;
  int priority = 0;
  JobState state = JobState::kPending;
  bool held = false;
  double min_runtime_s = 0;  // not preempted before it has run this long (this attempt)
  double submit_unix = 0;
  double start_unix = 0;  // start of the current (or last) attempt; 0 before the first
  double end_unix = 0;
  std::vector<Placement> hosts;  // where the current attempt runs
  bool backfilled = false;       // started behind a blocked head: the head may preempt it at once
  int attempt = 0;               // attempts started so far
  int requeues = 0;              // requeues after failures
  int max_requeues = 2;
  std::string reason;  // why it waits / how it ended
  // Work lost if stopped now: steps since its last committed checkpoint x ranks (filled by the
  // daemon from the job's files before each pass; 0 when unknown).
  double lost_work = 0;
  // What it runs.
  std::string name;
  std::string config_yaml;
  std::vector<std::string> overrides;
  int64_t total_steps = 0;
  int max_restarts = 0;  // ogai-run's own --max-restarts
  // Runtime bookkeeping of the current attempt.
  int64_t pid = 0;          // the attempt's supervisor shell (its own session)
  double preempt_unix = 0;  // when the checkpoint request was sent (0: none)
  bool cancel_requested = false;
  int exit_code = -1;
};

std::string HostsText(const std::vector<Placement>& hosts);  // "a:2,b:1"
std::vector<Placement> ParseHostsText(const std::string& text);

}  // namespace ogai::sched
