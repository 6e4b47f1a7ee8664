#include "registry/db.h"

#include <chrono>
#include <thread>

#include "core/clock.h"

namespace ogai::registry {
Stmt::~Stmt() {
  if (s_ != nullptr) sqlite3_finalize(s_);
}
Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, double v) {
  sqlite3_bind_double(s_, i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, const std::string& v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindNull(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}
Result<bool> Stmt::Step() {
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(sqlite3_sql(s_));
}
Status Stmt::Run() {
  for (;;) {
    OGAI_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}
int64_t Stmt::Int(int c) const { return sqlite3_column_int64(s_, c); }
double Stmt::Real(int c) const { return sqlite3_column_double(s_, c); }
std::string Stmt::Text(int c) const {
  const unsigned char* t = sqlite3_column_text(s_, c);
  return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s_, c));
}
bool Stmt::IsNull(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }

Result<std::unique_ptr<Db>> Db::Open(const std::string& path, DbNames names, double busy_seconds) {
  std::unique_ptr<Db> d(new Db());
  d->path_ = path;
  d->names_ = std::move(names);
  const int rc = sqlite3_open_v2(path.c_str(), &d->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    return IoError("cannot open the " + d->names_.what + " " + path + ": " +
                   (d->db_ ? sqlite3_errmsg(d->db_) : sqlite3_errstr(rc)) + "; " + d->names_.fix);
  }
  sqlite3_busy_timeout(d->db_, static_cast<int>(busy_seconds * 1000));
  // Two processes opening the database at once (two `ogai-model register`s) can both hold a
  // shared lock while each asks for the exclusive one that switching to WAL needs: SQLite
  // answers one of them "database is locked" at once, without its busy handler (a deadlock
  // to SQLite). The switch is tried again until the other has made it.
  const char* wal = "PRAGMA journal_mode=WAL";
  const double give_up = Now() + busy_seconds;
  for (;;) {
    const int rc = sqlite3_exec(d->db_, wal, nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) break;
    if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || Now() > give_up) return d->Error(wal);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  OGAI_RETURN_IF_ERROR(d->Exec("PRAGMA synchronous=FULL"));
  OGAI_RETURN_IF_ERROR(d->Exec("PRAGMA foreign_keys=ON"));
  return d;
}

Db::~Db() {
  if (db_ != nullptr) sqlite3_close(db_);
}

Status Db::Exec(const std::string& sql) {
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return Error(sql);
  return Status::Ok();
}

Result<Stmt> Db::Prepare(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) return Error(sql);
  return Stmt(this, s);
}

int64_t Db::LastInsertId() const { return sqlite3_last_insert_rowid(db_); }

Status Db::Error(const std::string& sql) const {
  const std::string in = sql.size() > 80 ? sql.substr(0, 80) + "..." : sql;
  return IoError(names_.what + " " + path_ + ": " + sqlite3_errmsg(db_) + " (in: " + in + "); " + names_.fix);
}

Status Db::Transaction(const std::function<Status()>& body) {
  OGAI_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status st = body();
  if (st.ok()) st = Exec("COMMIT");
  if (!st.ok()) (void)Exec("ROLLBACK");
  return st;
}

}  // namespace ogai::registry
