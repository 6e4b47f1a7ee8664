// A thin wrapper over SQLite: open with WAL and a busy timeout, run SQL, prepared statements,
// and transactions that roll back on any error (or a kill: SQLite's journal makes an
// interrupted transaction vanish on the next open). The registry's database and the
// scheduler's state (sched/state_db.cc) both use it; every error names the database, the
// file, the SQL and what to check.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <sqlite3.h>

#include "core/status.h"

namespace ogai::registry {

class Db;

class Stmt {
 public:
  Stmt(const Db* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  Stmt(const Stmt&) = delete;
  ~Stmt();
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, double v);
  Stmt& Bind(int i, const std::string& v);
  Stmt& BindNull(int i);
  // True when a row is ready, false when done; an error names the SQL.
  Result<bool> Step();
  Status Run();  // steps to the end
  int64_t Int(int col) const;
  double Real(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;

 private:
  const Db* db_;
  sqlite3_stmt* s_;
};

// What a database is called in its errors, and what the user should check when it fails.
struct DbNames {
  std::string what = "registry database";
  std::string fix = "check that the registry root (--root or OGAI_REGISTRY) is writable and its disk not full";
};

class Db {
 public:
  // Opens (creating) the database file with WAL journaling and a busy timeout of
  // `busy_seconds`; a file that is not a SQLite database is refused here, not at first use.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, DbNames names = {}, double busy_seconds = 60);
  ~Db();
  Status Exec(const std::string& sql);
  Result<Stmt> Prepare(const std::string& sql);
  // BEGIN IMMEDIATE (the write lock up front, so two writers queue instead of deadlocking);
  // COMMIT when `body` succeeds, ROLLBACK otherwise.
  Status Transaction(const std::function<Status()>& body);
  const std::string& path() const { return path_; }
  int64_t LastInsertId() const;
  // IoError "<what> <path>: <SQLite's message> (in: <sql>); <fix>".
  Status Error(const std::string& sql) const;

 private:
  Db() = default;
  sqlite3* db_ = nullptr;
  std::string path_;
  DbNames names_;
};

}  // namespace ogai::registry
