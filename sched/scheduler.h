// The scheduler: the pool, tenants and jobs in memory (mirrored by every change in the state
// database), the loop that watches attempts and runs the policy, and the calls every front end
// uses. The gRPC service (service.cc) is one front end; a web dashboard would call the same
// functions (queries.cc): each takes the authenticated Caller and returns the API's messages.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "proto/sched.pb.h"
#include "sched/runner.h"
#include "sched/state_db.h"
#include "sched/types.h"

namespace ogai::sched {

struct TenantConfig {
  std::string name;
  int quota = 0;
  int borrow_limit = 0;
  std::string token;
  std::string slurm_account;  // --backend slurm: sbatch --account ("" : none)
};

struct SchedulerOptions {
  std::string state_dir;
  std::vector<Node> pool;
  std::vector<TenantConfig> tenants;
  std::string admin_token;
  RunnerOptions runner;
  double half_life_s = 3600;  // fair-share usage half-life
  double grace_s = 120;       // a preempted job's time to commit its checkpoint and stop
  double stop_grace_s = 15;   // SIGTERM, then SIGKILL this long after
  int tick_ms = 200;
  bool probe_nodes = true;  // ssh to remote nodes after a failure and every ~10 s while down
};

struct Caller {
  bool admin = false;
  std::string tenant;  // "" for the admin
};

class Scheduler {
 public:
  // Opens the state, loads the jobs and re-attaches to the attempts still running.
  static Result<std::unique_ptr<Scheduler>> Create(SchedulerOptions o);
  ~Scheduler();

  Result<Caller> Authenticate(const std::string& token) const;

  // The API (queries.cc). A tenant sees and changes only its own jobs.
  Result<int64_t> Submit(const Caller& c, const pb::SubmitRequest& r);
  Result<pb::JobsReply> Jobs(const Caller& c, bool all);
  // with_events: also the job's event history (a query of the state database, under the lock).
  Result<pb::JobInfo> Show(const Caller& c, int64_t id, bool with_events = true);
  Result<pb::JobInfo> Cancel(const Caller& c, int64_t id);
  Result<pb::JobInfo> Hold(const Caller& c, int64_t id, bool hold);
  Result<pb::LogsReply> Logs(const Caller& c, int64_t id, int64_t offset);
  pb::NodesReply Nodes(const Caller& c);
  pb::QuotaReply Quota(const Caller& c);

  // One round: watch attempts, enforce grace periods, account usage, one policy pass, apply.
  void Tick();
  // Ticks every tick_ms (or at once when a call wakes it) until *stop.
  void Run(const std::atomic<bool>* stop);
  void Wake();

  // Milliseconds the last policy pass took (SchedulePass alone).
  double last_pass_ms() const { return last_pass_ms_; }

 private:
  explicit Scheduler(SchedulerOptions o) : o_(std::move(o)) {}
  Status Load();
  void ReattachAll();
  void WatchActive(double now);
  void Finish(Job& j, int exit_code, bool lost, double now);
  void ProbeNodes(const std::vector<Placement>& hosts, double now);
  void ProbeDownNodes(double now);
  void ProbeAll();  // every remote node, at start: down (with the reason) or up
  void AccrueAll(double now);
  void Pass(double now);
  Status Save(Job& j, const std::string& event);
  Result<Job*> Find(const Caller& c, int64_t id);
  // The job as the API shows it; its step and committed step come from files in its folder,
  // which Jobs and Show read after releasing the lock (`progress` false, then FillProgress).
  pb::JobInfo Info(const Job& j, bool with_events, bool progress = true);
  std::string DisplayReason(const Job& j) const;

  SchedulerOptions o_;
  std::unique_ptr<StateDb> db_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  std::map<int64_t, Job> jobs_;
  std::map<std::string, Tenant> tenants_;
  std::map<std::string, std::string> token_to_tenant_;
  std::vector<Node> nodes_;
  std::map<int64_t, std::string> wait_reason_;  // the last pass's reason per pending job
  std::map<int64_t, double> term_sent_;         // job -> when SIGTERM was sent (this attempt)
  double last_probe_ = 0;
  double last_pass_ms_ = 0;
};

}  // namespace ogai::sched
