#include "sched/scheduler.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <sstream>

#include "core/clock.h"
#include "core/knobs.h"
#include "core/log.h"
#include "launcher/hostfile.h"
#include "sched/fairshare.h"
#include "sched/policy.h"

namespace ogai::sched {

namespace {

double NowUnix() { return UnixMs() / 1000.0; }

bool FileExists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

// ssh HOST true, bounded: "" when it answers, else why not.
std::string ProbeHost(const std::string& host) {
  std::vector<std::string> argv = {KnobText("OGAI_SSH").value_or("ssh")};
  if (const std::optional<std::string> opts = KnobText("OGAI_SSH_OPTS")) {
    std::istringstream in(*opts);
    std::string w;
    while (in >> w) argv.push_back(w);
  }
  for (const char* a : {"-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "-T"}) argv.push_back(a);
  argv.push_back(host);
  argv.push_back("true");
  const pid_t pid = ::fork();
  if (pid < 0) return "cannot fork to probe it";
  if (pid == 0) {
    ::setsid();
    const int dn = ::open("/dev/null", O_RDWR);
    if (dn >= 0) {
      ::dup2(dn, 0);
      ::dup2(dn, 1);
      ::dup2(dn, 2);
    }
    std::vector<char*> av;
    for (auto& s : argv) av.push_back(s.data());
    av.push_back(nullptr);
    ::execvp(av[0], av.data());
    ::_exit(127);
  }
  const double deadline = Now() + 6;
  int status = 0;
  while (true) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (Now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return "ssh " + host + " did not answer within 6 s";
    }
    ::usleep(20000);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  return "ssh " + host + " true failed (exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128) + ")";
}

}  // namespace

Result<std::unique_ptr<Scheduler>> Scheduler::Create(SchedulerOptions o) {
  std::unique_ptr<Scheduler> s(new Scheduler(std::move(o)));
  OGAI_RETURN_IF_ERROR(s->Load());
  s->ReattachAll();
  if (s->o_.probe_nodes) s->ProbeAll();
  return s;
}

Scheduler::~Scheduler() = default;

Status Scheduler::Load() {
  const std::string jobs_dir = o_.state_dir + "/jobs";
  if (::mkdir(jobs_dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("cannot create " + jobs_dir, errno);
  OGAI_ASSIGN_OR_RETURN(db_, StateDb::Open(o_.state_dir + "/sched.db"));
  for (const TenantConfig& tc : o_.tenants) {
    Tenant t;
    t.name = tc.name;
    t.quota = tc.quota;
    t.borrow_limit = tc.borrow_limit;
    tenants_[t.name] = t;
    if (!tc.token.empty()) token_to_tenant_[tc.token] = tc.name;
  }
  OGAI_ASSIGN_OR_RETURN(auto saved, db_->LoadTenants());
  for (const Tenant& t : saved) {
    auto it = tenants_.find(t.name);
    if (it != tenants_.end()) {
      it->second.usage = t.usage;
      it->second.usage_unix = t.usage_unix;
    }
  }
  // Node state (down, and why) survives a restart for the nodes still in the pool.
  OGAI_ASSIGN_OR_RETURN(auto saved_nodes, db_->LoadNodes());
  nodes_ = o_.pool;
  for (Node& n : nodes_) {
    for (const Node& s : saved_nodes) {
      if (s.name == n.name) {
        n.up = s.up;
        n.down_reason = s.down_reason;
      }
    }
  }
  OGAI_ASSIGN_OR_RETURN(auto jobs, db_->LoadJobs());
  for (Job& j : jobs) jobs_[j.id] = std::move(j);
  return Status::Ok();
}

void Scheduler::ReattachAll() {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [id, j] : jobs_) {
    if (!IsActive(j.state)) continue;
    const std::string dir = JobDir(o_.state_dir, id);
    if (j.pid == 0) {
      // Saved as started but the pid not recorded: the supervisor wrote its own pid file if it
      // ever ran; if not, the attempt never started and the job simply waits again.
      const std::string pf = AttemptFile(dir, j.attempt, o_.runner.backend == "slurm" ? "slurmid" : "pid");
      if (FileExists(pf)) {
        j.pid = std::atoll(ReadSmallFile(pf).c_str());
      } else {
        j.state = JobState::kPending;
        j.reason = "Requeued";
        j.hosts.clear();
        (void)Save(j, "the daemon stopped before attempt " + std::to_string(j.attempt) + " started; waiting again");
        continue;
      }
    }
    OGAI_LOG(Info) << "job " << id << ": re-attached to attempt " << j.attempt << " (pid " << j.pid << ")";
  }
}

Result<Caller> Scheduler::Authenticate(const std::string& token) const {
  if (token.empty()) {
    return PermissionDenied("no token: set OGAI_SCHED_TOKEN (or --token) to your tenant's token or the admin token");
  }
  if (!o_.admin_token.empty() && token == o_.admin_token) return Caller{true, ""};
  auto it = token_to_tenant_.find(token);
  if (it == token_to_tenant_.end()) return PermissionDenied("the token is not valid for this scheduler");
  return Caller{false, it->second};
}

Status Scheduler::Save(Job& j, const std::string& event) { return db_->SaveJob(&j, event, NowUnix()); }

void Scheduler::Wake() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Scheduler::Run(const std::atomic<bool>* stop) {
  while (!stop->load()) {
    Tick();
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, std::chrono::milliseconds(o_.tick_ms), [&] { return woken_ || stop->load(); });
    woken_ = false;
  }
}

void Scheduler::Tick() {
  std::lock_guard<std::mutex> lk(mu_);
  const double now = NowUnix();
  WatchActive(now);
  ProbeDownNodes(now);
  AccrueAll(now);
  Pass(now);
}

void Scheduler::WatchActive(double now) {
  for (auto& [id, j] : jobs_) {
    if (!IsActive(j.state)) continue;
    const std::string dir = JobDir(o_.state_dir, id);
    const AttemptStatus st = PollAttempt(o_.runner, dir, j.attempt, j.pid);
    if (st.state != AttemptState::kRunning) {
      Finish(j, st.exit_code, st.state == AttemptState::kLost, now);
      continue;
    }
    // Stop what must stop: a cancel, or a preemption whose grace ran out.
    const bool overdue = j.state == JobState::kPreempting && now - j.preempt_unix > o_.grace_s;
    if (j.cancel_requested || overdue) {
      auto it = term_sent_.find(id);
      if (it == term_sent_.end()) {
        if (overdue) {
          OGAI_LOG(Warn) << "job " << id << ": no checkpoint within " << o_.grace_s << " s; stopping it";
        }
        SignalAttempt(o_.runner, dir, j.attempt, j.pid, SIGTERM);
        term_sent_[id] = now;
      } else if (now - it->second > o_.stop_grace_s) {
        SignalAttempt(o_.runner, dir, j.attempt, j.pid, SIGKILL);
        if (j.pid > 0 && o_.runner.backend == "local") ::kill(-static_cast<pid_t>(j.pid), SIGKILL);
      }
    }
  }
}

void Scheduler::Finish(Job& j, int exit_code, bool lost, double now) {
  term_sent_.erase(j.id);
  const std::string dir = JobDir(o_.state_dir, j.id);
  const Progress p = ReadProgress(dir, j.attempt);
  j.exit_code = exit_code;
  j.end_unix = now;
  j.pid = 0;
  std::string event;
  const std::string code = lost ? "its supervisor vanished" : "ogai-run exited with " + std::to_string(exit_code);
  if (j.cancel_requested) {
    j.state = JobState::kCancelled;
    j.reason = "Cancelled";
    event = "cancelled (" + code + ")";
  } else if (j.state == JobState::kPreempting && !lost && exit_code == 0 && p.committed_step >= j.total_steps) {
    j.state = JobState::kCompleted;
    j.reason = "";
    event = "completed while being preempted (step " + std::to_string(p.committed_step) + ")";
  } else if (j.state == JobState::kPreempting) {
    j.state = JobState::kPending;
    j.reason = "Preempted";
    event = "preempted: " + code + "; checkpoint at step " + std::to_string(p.committed_step) + ", requeued";
  } else if (!lost && exit_code == 0) {
    j.state = JobState::kCompleted;
    j.reason = "";
    event = "completed (step " + std::to_string(p.committed_step) + ")";
  } else {
    if (o_.probe_nodes) ProbeNodes(j.hosts, now);
    if (j.requeues < j.max_requeues) {
      ++j.requeues;
      j.state = JobState::kPending;
      j.reason = "Requeued";
      event = "failed (" + code + "); requeued " + std::to_string(j.requeues) + " of " +
              std::to_string(j.max_requeues) + ", resumes from step " + std::to_string(p.committed_step);
    } else {
      j.state = JobState::kFailed;
      j.reason = lost ? "Lost" : "ExitCode " + std::to_string(exit_code);
      event = "failed (" + code + "); no requeue left (" + std::to_string(j.max_requeues) + ")";
    }
  }
  j.preempt_unix = 0;
  if (j.state == JobState::kPending) j.hosts.clear();
  Status st = Save(j, event);
  if (!st.ok()) {
    OGAI_LOG(Error) << "job " << j.id << ": " << st.ToString();
  }
  OGAI_LOG(Info) << "job " << j.id << ": " << event;
}

void Scheduler::ProbeNodes(const std::vector<Placement>& hosts, double now) {
  for (const Placement& p : hosts) {
    if (launch::IsLocalHost(p.node)) continue;
    const std::string why = ProbeHost(p.node);
    for (Node& n : nodes_) {
      if (n.name != p.node || why.empty()) continue;
      n.up = false;
      n.down_reason = why;
      OGAI_LOG(Warn) << "node " << n.name << " is down: " << why;
      (void)db_->SaveNode(n);
    }
  }
  last_probe_ = now;
}

void Scheduler::ProbeAll() {
  std::lock_guard<std::mutex> lk(mu_);
  for (Node& n : nodes_) {
    if (launch::IsLocalHost(n.name)) continue;
    const std::string why = ProbeHost(n.name);
    if (why.empty() == n.up && why == n.down_reason) continue;
    n.up = why.empty();
    n.down_reason = why;
    if (!n.up) {
      OGAI_LOG(Warn) << "node " << n.name << " is down: " << why;
    }
    (void)db_->SaveNode(n);
  }
  last_probe_ = NowUnix();
}

void Scheduler::ProbeDownNodes(double now) {
  if (!o_.probe_nodes || now - last_probe_ < 10) return;
  last_probe_ = now;
  for (Node& n : nodes_) {
    if (n.up) continue;
    if (ProbeHost(n.name).empty()) {
      n.up = true;
      n.down_reason.clear();
      OGAI_LOG(Info) << "node " << n.name << " answers again: up";
      (void)db_->SaveNode(n);
    }
  }
}

void Scheduler::AccrueAll(double now) {
  std::map<std::string, int> running;
  for (const auto& [id, j] : jobs_)
    if (IsActive(j.state)) running[j.tenant] += j.ranks;
  std::vector<Tenant> ts;
  for (auto& [name, t] : tenants_) {
    const double before = t.usage_unix;
    AccrueUsage(t, running[name], now, o_.half_life_s);
    if (now - before >= 5 || before == 0) ts.push_back(t);
  }
  if (!ts.empty()) (void)db_->SaveTenants(ts);  // usage is advisory: written every few seconds
}

void Scheduler::Pass(double now) {
  PolicyInput in;
  in.nodes = nodes_;
  in.tenants = tenants_;
  in.now_unix = now;
  for (auto& [id, j] : jobs_) {
    if (IsFinal(j.state)) continue;
    if (j.state == JobState::kRunning) {
      const Progress p = ReadProgress(JobDir(o_.state_dir, id), j.attempt);
      j.lost_work = static_cast<double>(p.step - p.committed_step) * j.ranks;
    }
    in.jobs.push_back(j);
  }
  const double t0 = Now();
  PolicyOutput out = SchedulePass(in);
  last_pass_ms_ = (Now() - t0) * 1e3;
  wait_reason_ = out.reasons;
  for (int64_t id : out.preempt) {
    Job& j = jobs_.at(id);
    j.state = JobState::kPreempting;
    j.preempt_unix = now;
    if (!Save(j, "preempted: checkpoint requested (lost work " + std::to_string(static_cast<int64_t>(j.lost_work)) +
                     " rank-steps)")
             .ok()) {
      continue;
    }
    Status st = RequestCheckpoint(JobDir(o_.state_dir, id), j.attempt);
    if (!st.ok()) {
      OGAI_LOG(Warn) << "job " << id << ": checkpoint request failed (" << st.ToString()
                     << "); stopping it, it resumes from its last checkpoint";
      SignalAttempt(o_.runner, JobDir(o_.state_dir, id), j.attempt, j.pid, SIGTERM);
      term_sent_[id] = now;
    }
  }
  for (const StartDecision& d : out.start) {
    Job& j = jobs_.at(d.job);
    const Job before = j;
    j.state = JobState::kRunning;
    j.hosts = d.hosts;
    j.backfilled = d.backfilled;
    j.reason.clear();
    ++j.attempt;
    j.start_unix = now;
    j.exit_code = -1;
    j.pid = 0;
    // Saved before it starts: a daemon killed after this finds the attempt's pid file (or its
    // absence) and never starts the same attempt twice.
    if (!Save(j, "attempt " + std::to_string(j.attempt) + " on " + HostsText(j.hosts) +
                     (d.backfilled ? " (backfilled)" : ""))
             .ok()) {
      j = before;
      continue;
    }
    auto pid = StartAttempt(o_.runner, JobDir(o_.state_dir, j.id), j);
    if (!pid.ok()) {
      j.state = JobState::kFailed;
      j.reason = "StartFailed";
      (void)Save(j, "could not start: " + pid.status().ToString());
      continue;
    }
    j.pid = *pid;
    (void)Save(j, "");
  }
}

}  // namespace ogai::sched
