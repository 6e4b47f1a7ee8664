#include "sched/state_db.h"

#include <cstdio>

#include <sqlite3.h>

namespace ogai::sched {

namespace {

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void Bind(int i, double v) { sqlite3_bind_double(s_, i, v); }
  void Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  int64_t Int(int i) { return sqlite3_column_int64(s_, i); }
  double Real(int i) { return sqlite3_column_double(s_, i); }
  std::string Text(int i) {
    const unsigned char* t = sqlite3_column_text(s_, i);
    return t == nullptr ? "" : reinterpret_cast<const char*>(t);
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

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
  d->path_ = path;
  if (sqlite3_open(path.c_str(), &d->db_) != SQLITE_OK) {
    return Unavailable("scheduler state " + path + ": cannot open the database: " +
                       (d->db_ ? sqlite3_errmsg(d->db_) : "out of memory") + "; check the --state folder");
  }
  sqlite3_busy_timeout(d->db_, 5000);
  OGAI_RETURN_IF_ERROR(d->Exec("PRAGMA journal_mode=WAL"));
  OGAI_RETURN_IF_ERROR(d->Exec("PRAGMA synchronous=FULL"));
  OGAI_RETURN_IF_ERROR(d->Exec(kSchema));
  return d;
}

StateDb::~StateDb() { sqlite3_close(db_); }

Status StateDb::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Unavailable("scheduler state " + path_ + ": " + msg +
                       " (is the disk under the --state folder full or read-only?); the change was not made");
  }
  return Status::Ok();
}

Status StateDb::WriteJob(Job* j) {
  const bool insert = j->id == 0;
  Stmt s(db_, insert ? "INSERT INTO jobs (tenant,name,ranks,priority,state,held,min_runtime_s,submit_unix,start_unix,"
                       "end_unix,hosts,backfilled,attempt,requeues,max_requeues,reason,config_yaml,overrides,"
                       "total_steps,max_restarts,pid,preempt_unix,cancel_requested,exit_code) VALUES "
                       "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                     : "UPDATE jobs SET tenant=?,name=?,ranks=?,priority=?,state=?,held=?,min_runtime_s=?,"
                       "submit_unix=?,start_unix=?,end_unix=?,hosts=?,backfilled=?,attempt=?,requeues=?,"
                       "max_requeues=?,reason=?,config_yaml=?,overrides=?,total_steps=?,max_restarts=?,pid=?,"
                       "preempt_unix=?,cancel_requested=?,exit_code=? WHERE id=?");
  if (!s.ok()) return Internal(std::string("scheduler state: ") + sqlite3_errmsg(db_));
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
  if (sqlite3_step(s.get()) != SQLITE_DONE) {
    return Unavailable("scheduler state " + path_ + ": " + sqlite3_errmsg(db_) +
                       " (is the disk under the --state folder full?); the change was not made");
  }
  if (insert) j->id = sqlite3_last_insert_rowid(db_);
  return Status::Ok();
}

Status StateDb::WriteEvent(int64_t job, const std::string& text, double now_unix) {
  Stmt s(db_, "INSERT INTO events (job, unix, text) VALUES (?,?,?)");
  s.Bind(1, job);
  s.Bind(2, now_unix);
  s.Bind(3, text);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Unavailable(std::string("scheduler state: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

Status StateDb::SaveJob(Job* job, const std::string& event, double now_unix) {
  return SaveJobs({job}, {event}, now_unix);
}

Status StateDb::SaveJobs(const std::vector<Job*>& jobs, const std::vector<std::string>& events, double now_unix) {
  OGAI_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  std::vector<Job> before;
  for (Job* j : jobs) before.push_back(*j);
  Status st = Status::Ok();
  for (size_t k = 0; k < jobs.size() && st.ok(); ++k) {
    st = WriteJob(jobs[k]);
    if (st.ok() && k < events.size() && !events[k].empty()) st = WriteEvent(jobs[k]->id, events[k], now_unix);
  }
  if (st.ok()) st = Exec("COMMIT");
  if (!st.ok()) {
    (void)Exec("ROLLBACK");
    for (size_t k = 0; k < jobs.size(); ++k) *jobs[k] = before[k];  // nothing half-done in memory either
  }
  return st;
}

Status StateDb::SaveTenants(const std::vector<Tenant>& tenants) {
  OGAI_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  for (const Tenant& t : tenants) {
    Stmt s(db_, "INSERT OR REPLACE INTO tenants (name, usage, usage_unix) VALUES (?,?,?)");
    s.Bind(1, t.name);
    s.Bind(2, t.usage);
    s.Bind(3, t.usage_unix);
    if (sqlite3_step(s.get()) != SQLITE_DONE) {
      (void)Exec("ROLLBACK");
      return Unavailable(std::string("scheduler state: ") + sqlite3_errmsg(db_));
    }
  }
  return Exec("COMMIT");
}

Status StateDb::SaveNode(const Node& n) {
  Stmt s(db_, "INSERT OR REPLACE INTO nodes (name, slots, up, reason) VALUES (?,?,?,?)");
  s.Bind(1, n.name);
  s.Bind(2, static_cast<int64_t>(n.slots));
  s.Bind(3, static_cast<int64_t>(n.up));
  s.Bind(4, n.down_reason);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Unavailable(std::string("scheduler state: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

Result<std::vector<Job>> StateDb::LoadJobs() {
  Stmt s(db_,
         "SELECT id,tenant,name,ranks,priority,state,held,min_runtime_s,submit_unix,start_unix,end_unix,hosts,"
         "backfilled,attempt,requeues,max_requeues,reason,config_yaml,overrides,total_steps,max_restarts,pid,"
         "preempt_unix,cancel_requested,exit_code FROM jobs ORDER BY id");
  if (!s.ok()) return Internal(std::string("scheduler state: ") + sqlite3_errmsg(db_));
  std::vector<Job> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
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
  Stmt s(db_, "SELECT name, usage, usage_unix FROM tenants");
  std::vector<Tenant> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    Tenant t;
    t.name = s.Text(0);
    t.usage = s.Real(1);
    t.usage_unix = s.Real(2);
    out.push_back(t);
  }
  return out;
}

Result<std::vector<Node>> StateDb::LoadNodes() {
  Stmt s(db_, "SELECT name, slots, up, reason FROM nodes");
  std::vector<Node> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
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
  Stmt s(db_, "SELECT unix, text FROM events WHERE job=? ORDER BY id");
  s.Bind(1, job);
  std::vector<std::string> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    char ts[32];
    std::snprintf(ts, sizeof(ts), "%.3f", s.Real(0));
    out.push_back(std::string(ts) + " " + s.Text(1));
  }
  return out;
}

}  // namespace ogai::sched
