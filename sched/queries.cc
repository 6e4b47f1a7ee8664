// The scheduler's calls for front ends (scheduler.h): submit, list, show, cancel, hold, logs,
// nodes, quota. Each takes the authenticated caller and answers with the API's messages.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "core/clock.h"
#include "sched/policy.h"
#include "sched/scheduler.h"
#include "train/config.h"

namespace ogai::sched {

namespace {
double NowUnix() { return UnixMs() / 1000.0; }
}  // namespace

Result<int64_t> Scheduler::Submit(const Caller& c, const pb::SubmitRequest& r) {
  std::string tenant = r.tenant().empty() ? c.tenant : r.tenant();
  if (tenant.empty())
    return InvalidArgument("submit: the admin token has no tenant of its own; name one with --tenant");
  if (!c.admin && tenant != c.tenant) {
    return PermissionDenied("submit: your token is tenant '" + c.tenant + "''s; it cannot submit as '" + tenant + "'");
  }
  std::vector<std::string> overrides(r.overrides().begin(), r.overrides().end());
  for (const std::string& ov : overrides) {
    if (ov.rfind("checkpoint.dir=", 0) == 0 || ov.rfind("train.metrics_file=", 0) == 0 ||
        ov.find('\n') != std::string::npos) {
      return InvalidArgument("submit: '" + ov.substr(0, ov.find('=')) +
                             "' is set by the scheduler (the job's folder holds its checkpoints and metrics); drop it");
    }
  }
  // The config is checked now, with the same code ogai-worker uses, and refused with its error.
  auto cfg = ParseConfig(r.config_yaml(), r.config_name().empty() ? "train.yaml" : r.config_name(), overrides);
  if (!cfg.ok()) return cfg.status();
  Job j;
  j.tenant = tenant;
  j.name = r.name().empty() ? r.config_name() : r.name();
  const int layout = cfg->parallel.dp * cfg->parallel.tp * cfg->parallel.pp;
  j.ranks = r.np() > 0 ? r.np() : layout;
  if (j.ranks != layout) {
    return InvalidArgument("submit: -np " + std::to_string(j.ranks) +
                           " but the config's layout is parallel.dp x tp x pp = " + std::to_string(cfg->parallel.dp) +
                           " x " + std::to_string(cfg->parallel.tp) + " x " + std::to_string(cfg->parallel.pp) + " = " +
                           std::to_string(layout) + (layout == 1 ? " rank" : " ranks") +
                           "; set parallel.dp (or tp, pp) to match, or leave -np out");
  }
  j.priority = r.priority();
  j.min_runtime_s = std::max(0.0, r.min_runtime_s());
  j.max_requeues = r.max_requeues() >= 0 ? r.max_requeues() : 2;
  j.max_restarts = std::max(0, r.max_restarts());
  j.held = r.hold();
  j.config_yaml = r.config_yaml();
  j.overrides = overrides;
  j.total_steps = cfg->train.stop_after > 0 ? std::min(cfg->train.stop_after, cfg->train.steps) : cfg->train.steps;
  j.submit_unix = NowUnix();
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = tenants_.find(tenant);
    if (it == tenants_.end()) {
      std::string known;
      for (const auto& [n, t] : tenants_) known += (known.empty() ? "" : ", ") + n;
      return NotFound("submit: unknown tenant '" + tenant + "' (tenants: " + known + ")");
    }
    const std::string never = NeverFits(j, it->second, nodes_);
    if (!never.empty()) return InvalidArgument("submit: " + never);
    OGAI_RETURN_IF_ERROR(Save(j, "submitted by " + (c.admin ? std::string("admin") : c.tenant) + ": " +
                                     std::to_string(j.ranks) + " ranks, priority " + std::to_string(j.priority)));
    jobs_[j.id] = j;
  }
  Wake();
  return j.id;
}

Result<Job*> Scheduler::Find(const Caller& c, int64_t id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || (!c.admin && it->second.tenant != c.tenant)) {
    return NotFound("no job " + std::to_string(id) + (c.admin ? "" : " of tenant '" + c.tenant + "'") +
                    "; `ogai jobs` lists yours");
  }
  return &it->second;
}

std::string Scheduler::DisplayReason(const Job& j) const {
  if (j.state != JobState::kPending) return j.reason;
  auto it = wait_reason_.find(j.id);
  const std::string wait = it == wait_reason_.end() ? "" : it->second;
  if ((wait == "Resources" || wait == "Priority" || wait.empty()) && !j.reason.empty()) return j.reason;
  return wait;
}

namespace {
// The step a job's current attempt reached and the step it last committed: two small files
// in its folder (ReadProgress).
void FillProgress(pb::JobInfo* i) {
  if (i->attempt() <= 0) return;
  const Progress p = ReadProgress(i->dir(), i->attempt());
  i->set_step(p.step);
  i->set_committed_step(p.committed_step);
}
}  // namespace

pb::JobInfo Scheduler::Info(const Job& j, bool with_events, bool progress) {
  pb::JobInfo i;
  i.set_id(j.id);
  i.set_tenant(j.tenant);
  i.set_name(j.name);
  i.set_ranks(j.ranks);
  i.set_priority(j.priority);
  i.set_state(JobStateName(j.state));
  i.set_held(j.held);
  i.set_reason(DisplayReason(j));
  i.set_hosts(HostsText(j.hosts));
  i.set_submit_unix(j.submit_unix);
  i.set_start_unix(j.start_unix);
  i.set_end_unix(j.end_unix);
  i.set_attempt(j.attempt);
  i.set_requeues(j.requeues);
  i.set_exit_code(j.exit_code);
  i.set_min_runtime_s(j.min_runtime_s);
  i.set_total_steps(j.total_steps);
  const std::string dir = JobDir(o_.state_dir, j.id);
  i.set_dir(dir);
  if (progress) FillProgress(&i);
  if (with_events) {
    auto ev = db_->Events(j.id);
    if (ev.ok())
      for (auto& e : *ev) i.add_events(e);
  }
  return i;
}

Result<pb::JobsReply> Scheduler::Jobs(const Caller& c, bool all) {
  pb::JobsReply r;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& [id, j] : jobs_) {
      if (!c.admin && j.tenant != c.tenant) continue;
      if (!all && IsFinal(j.state)) continue;
      *r.add_jobs() = Info(j, false, /*progress=*/false);
    }
  }
  // Two files per job: read without the lock, so that listing thousands of jobs (the
  // dashboard's ?all=1, `ogai jobs --all`) does not hold up scheduling.
  for (pb::JobInfo& i : *r.mutable_jobs()) FillProgress(&i);
  return r;
}

Result<pb::JobInfo> Scheduler::Show(const Caller& c, int64_t id, bool with_events) {
  pb::JobInfo i;
  {
    std::lock_guard<std::mutex> lk(mu_);
    OGAI_ASSIGN_OR_RETURN(Job * j, Find(c, id));
    i = Info(*j, with_events, /*progress=*/false);
  }
  FillProgress(&i);
  return i;
}

Result<pb::JobInfo> Scheduler::Cancel(const Caller& c, int64_t id) {
  std::lock_guard<std::mutex> lk(mu_);
  OGAI_ASSIGN_OR_RETURN(Job * j, Find(c, id));
  if (IsFinal(j->state)) return Info(*j, false);
  if (j->state == JobState::kPending) {
    j->state = JobState::kCancelled;
    j->reason = "Cancelled";
    j->end_unix = NowUnix();
    OGAI_RETURN_IF_ERROR(Save(*j, "cancelled while pending"));
    return Info(*j, false);
  }
  j->cancel_requested = true;
  OGAI_RETURN_IF_ERROR(Save(*j, "cancel requested: stopping it"));
  SignalAttempt(o_.runner, JobDir(o_.state_dir, id), j->attempt, j->pid, SIGTERM);
  term_sent_[id] = NowUnix();
  return Info(*j, false);
}

Result<pb::JobInfo> Scheduler::Hold(const Caller& c, int64_t id, bool hold) {
  std::lock_guard<std::mutex> lk(mu_);
  OGAI_ASSIGN_OR_RETURN(Job * j, Find(c, id));
  if (IsFinal(j->state)) {
    return InvalidArgument("job " + std::to_string(id) + " is " + JobStateName(j->state) + ": nothing to " +
                           (hold ? "hold" : "release"));
  }
  if (j->held != hold) {
    j->held = hold;
    OGAI_RETURN_IF_ERROR(Save(*j, hold ? "held" : "released"));
  }
  return Info(*j, false);
}

Result<pb::LogsReply> Scheduler::Logs(const Caller& c, int64_t id, int64_t offset) {
  std::string path;
  bool final = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    OGAI_ASSIGN_OR_RETURN(Job * j, Find(c, id));
    path = JobDir(o_.state_dir, id) + "/output.log";
    final = IsFinal(j->state);
  }
  pb::LogsReply r;
  r.set_next_offset(offset);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.set_done(final);
    return r;
  }
  struct stat sb {};
  ::fstat(fd, &sb);
  const int64_t n = std::min<int64_t>(std::max<int64_t>(0, sb.st_size - offset), 1 << 16);
  std::string buf(static_cast<size_t>(n), '\0');
  const ssize_t got = n > 0 ? ::pread(fd, buf.data(), buf.size(), offset) : 0;
  ::close(fd);
  buf.resize(got > 0 ? static_cast<size_t>(got) : 0);
  r.set_next_offset(offset + static_cast<int64_t>(buf.size()));
  r.set_data(std::move(buf));
  r.set_done(final && r.next_offset() >= sb.st_size);
  return r;
}

pb::NodesReply Scheduler::Nodes(const Caller& c) {
  std::lock_guard<std::mutex> lk(mu_);
  pb::NodesReply r;
  for (const Node& n : nodes_) {
    pb::NodeInfo* i = r.add_nodes();
    i->set_name(n.name);
    i->set_slots(n.slots);
    i->set_up(n.up);
    i->set_reason(n.down_reason);
    int used = 0;
    std::string js;
    for (const auto& [id, j] : jobs_) {
      if (!IsActive(j.state)) continue;
      for (const Placement& p : j.hosts) {
        if (p.node != n.name) continue;
        used += p.slots;
        js += (js.empty() ? "" : ",") + std::to_string(id);
      }
    }
    i->set_used(used);
    if (c.admin) i->set_jobs(js);  // a tenant does not see other tenants' job ids
  }
  return r;
}

pb::QuotaReply Scheduler::Quota(const Caller& c) {
  std::lock_guard<std::mutex> lk(mu_);
  pb::QuotaReply r;
  for (const auto& [name, t] : tenants_) {
    pb::TenantInfo* i = r.add_tenants();
    i->set_name(name);
    i->set_quota(t.quota);
    i->set_borrow_limit(t.borrow_limit);
    i->set_usage(t.usage);
    int used = 0, pending = 0;
    for (const auto& [id, j] : jobs_) {
      if (j.tenant != name) continue;
      if (IsActive(j.state)) used += j.ranks;
      if (j.state == JobState::kPending) pending += j.ranks;
    }
    i->set_used(used);
    i->set_pending(pending);
  }
  return r;
}

}  // namespace ogai::sched
