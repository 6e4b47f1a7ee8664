#include "sched/state_db.h"

#include <algorithm>
#include <cstdio>

#include "core/clock.h"
#include "registry/db.h"

namespace ogai::sched {

using registry::Stmt;

namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT, name TEXT, ranks INTEGER, priority INTEGER,
  state TEXT, held INTEGER, min_runtime_s REAL, submit_unix REAL, start_unix REAL, end_unix REAL,
  hosts TEXT, backfilled INTEGER, attempt INTEGER, requeues INTEGER, max_requeues INTEGER,
  reason TEXT, config_yaml TEXT, overrides TEXT, total_steps INTEGER, max_restarts INTEGER,
  pid INTEGER, preempt_unix REAL, cancel_requested INTEGER, exit_code INTEGER);
CREATE TABLE IF NOT EXISTS tenants (name TEXT PRIMARY KEY, usage REAL, usage_unix REAL);
CREATE TABLE IF NOT EXISTS nodes (name TEXT PRIMARY KEY, slots INTEGER, up INTEGER, reason TEXT);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, job INTEGER, unix REAL, text TEXT);
CREATE INDEX IF NOT EXISTS events_job ON events(job);
)";

std::string JoinLines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t nl = s.find('\n', i);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(i, nl - i));
    i = nl + 1;
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<StateDb>> StateDb::Open(const std::string& path) {
  std::unique_ptr<StateDb> d(new StateDb());
  // One daemon per state folder (the scheduler's flock), so a lock is never held for long.
  registry::DbNames names{"scheduler state", "check that the --state folder is writable and its disk not full"};
  OGAI_ASSIGN_OR_RETURN(d->db_, registry::Db::Open(path, std::move(names), /*busy_seconds=*/5));
  // A damaged file is refused at start (quick_check reads every page: milliseconds for a
  // state of thousands of jobs) rather than read as fewer jobs than it held.
  OGAI_ASSIGN_OR_RETURN(Stmt check, d->db_->Prepare("PRAGMA quick_check(1)"));
  const Result<bool> row = check.Step();
  std::string verdict = !row.ok() ? row.status().message() : *row ? check.Text(0) : "no answer";
  std::replace(verdict.begin(), verdict.end(), '\n', ' ');  // one line
  if (verdict != "ok") {
    return Corruption("scheduler state " + path + " is damaged (SQLite's quick_check: " + verdict +
                      "); restore it from a backup, or move it aside to start with no jobs (the jobs it held are "
                      "then forgotten; their checkpoints stay where they are)");
  }
  OGAI_RETURN_IF_ERROR(d->db_->Exec(kSchema));
  return d;
}

StateDb::~StateDb() = default;

Status StateDb::WriteJob(Job* j) {
  const bool insert = j->id == 0;
  OGAI_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare(insert ? "INSERT INTO jobs (tenant,name,ranks,priority,state,held,min_runtime_s,submit_unix,"
                                    "start_unix,end_unix,hosts,backfilled,attempt,requeues,max_requeues,reason,"
                                    "config_yaml,overrides,total_steps,max_restarts,pid,preempt_unix,"
                                    "cancel_requested,exit_code) VALUES "
                                    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                                  : "UPDATE jobs SET tenant=?,name=?,ranks=?,priority=?,state=?,held=?,min_runtime_s=?,"
                                    "submit_unix=?,start_unix=?,end_unix=?,hosts=?,backfilled=?,attempt=?,requeues=?,"
                                    "max_requeues=?,reason=?,config_yaml=?,overrides=?,total_steps=?,max_restarts=?,"
                                    "pid=?,preempt_unix=?,cancel_requested=?,exit_code=? WHERE id=?"));
  int i = 1;
  s.Bind(i++, j->tenant);
  s.Bind(i++, j->name);
  s.Bind(i++, static_cast<int64_t>(j->ranks));
  s.Bind(i++, static_cast<int64_t>(j->priority));
  s.Bind(i++, std::string(JobStateName(j->state)));
  s.Bind(i++, static_cast<int64_t>(j->held));
  s.Bind(i++, j->min_runtime_s);
  s.Bind(i++, j->submit_unix);
  s.Bind(i++, j->start_unix);
  s.Bind(i++, j->end_unix);
  s.Bind(i++, HostsText(j->hosts));
  s.Bind(i++, static_cast<int64_t>(j->backfilled));
  s.Bind(i++, static_cast<int64_t>(j->attempt));
  s.Bind(i++, static_cast<int64_t>(j->requeues));
  s.Bind(i++, static_cast<int64_t>(j->max_requeues));
  s.Bind(i++, j->reason);
  s.Bind(i++, j->config_yaml);
  s.Bind(i++, JoinLines(j->overrides));
  s.Bind(i++, j->total_steps);
  s.Bind(i++, static_cast<int64_t>(j->max_restarts));
  s.Bind(i++, j->pid);
  s.Bind(i++, j->preempt_unix);
  s.Bind(i++, static_cast<int64_t>(j->cancel_requested));
  s.Bind(i++, static_cast<int64_t>(j->exit_code));
  if (!insert) s.Bind(i++, j->id);
  OGAI_RETURN_IF_ERROR(s.Run());
  if (insert) j->id = db_->LastInsertId();
  return Status::Ok();
}

Status StateDb::WriteEvent(int64_t job, const std::string& text, double now_unix) {
  OGAI_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("INSERT INTO events (job, unix, text) VALUES (?,?,?)"));
  return s.Bind(1, job).Bind(2, now_unix).Bind(3, text).Run();
}

Status StateDb::SaveJob(Job* job, const std::string& event, double now_unix) {
  return SaveJobs({job}, {event}, now_unix);
}

Status StateDb::SaveJobs(const std::vector<Job*>& jobs, const std::vector<std::string>& events, double now_unix) {
  std::vector<Job> before;
  for (Job* j : jobs) before.push_back(*j);
  Status st = db_->Transaction([&]() -> Status {
    for (size_t k = 0; k < jobs.size(); ++k) {
      OGAI_RETURN_IF_ERROR(WriteJob(jobs[k]));
      if (k < events.size() && !events[k].empty()) OGAI_RETURN_IF_ERROR(WriteEvent(jobs[k]->id, events[k], now_unix));
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    for (size_t k = 0; k < jobs.size(); ++k) *jobs[k] = before[k];  // nothing half-done in memory either
  }
  return st;
}

Status StateDb::SaveTenants(const std::vector<Tenant>& tenants) {
  return db_->Transaction([&]() -> Status {
    for (const Tenant& t : tenants) {
      OGAI_ASSIGN_OR_RETURN(Stmt s,
                            db_->Prepare("INSERT OR REPLACE INTO tenants (name, usage, usage_unix) VALUES (?,?,?)"));
      OGAI_RETURN_IF_ERROR(s.Bind(1, t.name).Bind(2, t.usage).Bind(3, t.usage_unix).Run());
    }
    return Status::Ok();
  });
}

Status StateDb::SaveNode(const Node& n) {
  OGAI_ASSIGN_OR_RETURN(Stmt s,
                        db_->Prepare("INSERT OR REPLACE INTO nodes (name, slots, up, reason) VALUES (?,?,?,?)"));
  return s.Bind(1, n.name)
      .Bind(2, static_cast<int64_t>(n.slots))
      .Bind(3, static_cast<int64_t>(n.up))
      .Bind(4, n.down_reason)
      .Run();
}

Result<std::vector<Job>> StateDb::LoadJobs() {
  OGAI_ASSIGN_OR_RETURN(
      Stmt s,
      db_->Prepare("SELECT id,tenant,name,ranks,priority,state,held,min_runtime_s,submit_unix,start_unix,"
                   "end_unix,hosts,backfilled,attempt,requeues,max_requeues,reason,config_yaml,overrides,"
                   "total_steps,max_restarts,pid,preempt_unix,cancel_requested,exit_code FROM jobs ORDER BY id"));
  std::vector<Job> out;
  for (;;) {
    OGAI_ASSIGN_OR_RETURN(bool row, s.Step());  // a damaged page is an error, not the end of the table
    if (!row) break;
    Job j;
    int i = 0;
    j.id = s.Int(i++);
    j.tenant = s.Text(i++);
    j.name = s.Text(i++);
    j.ranks = static_cast<int>(s.Int(i++));
    j.priority = static_cast<int>(s.Int(i++));
    ParseJobState(s.Text(i++), &j.state);
    j.held = s.Int(i++) != 0;
    j.min_runtime_s = s.Real(i++);
    j.submit_unix = s.Real(i++);
    j.start_unix = s.Real(i++);
    j.end_unix = s.Real(i++);
    j.hosts = ParseHostsText(s.Text(i++));
    j.backfilled = s.Int(i++) != 0;
    j.attempt = static_cast<int>(s.Int(i++));
    j.requeues = static_cast<int>(s.Int(i++));
    j.max_requeues = static_cast<int>(s.Int(i++));
    j.reason = s.Text(i++);
    j.config_yaml = s.Text(i++);
    j.overrides = SplitLines(s.Text(i++));
    j.total_steps = s.Int(i++);
    j.max_restarts = static_cast<int>(s.Int(i++));
    j.pid = s.Int(i++);
    j.preempt_unix = s.Real(i++);
    j.cancel_requested = s.Int(i++) != 0;
    j.exit_code = static_cast<int>(s.Int(i++));
    out.push_back(std::move(j));
  }
  return out;
}

Result<std::vector<Tenant>> StateDb::LoadTenants() {
  OGAI_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("SELECT name, usage, usage_unix FROM tenants"));
  std::vector<Tenant> out;
  for (;;) {
    OGAI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    Tenant t;
    t.name = s.Text(0);
    t.usage = s.Real(1);
    t.usage_unix = s.Real(2);
    out.push_back(t);
  }
  return out;
}

Result<std::vector<Node>> StateDb::LoadNodes() {
  OGAI_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("SELECT name, slots, up, reason FROM nodes"));
  std::vector<Node> out;
  for (;;) {
    OGAI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    Node n;
    n.name = s.Text(0);
    n.slots = static_cast<int>(s.Int(1));
    n.up = s.Int(2) != 0;
    n.down_reason = s.Text(3);
    out.push_back(n);
  }
  return out;
}

Result<std::vector<std::string>> StateDb::Events(int64_t job) {
  OGAI_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("SELECT unix, text FROM events WHERE job=? ORDER BY id"));
  s.Bind(1, job);
  std::vector<std::string> out;
  for (;;) {
    OGAI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(FormatUtc(s.Real(0) * 1e3, /*millis=*/true) + " " + s.Text(1));
  }
  return out;
}

}  // namespace ogai::sched
