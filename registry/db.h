// A thin wrapper over SQLite for the registry: open with WAL and a busy timeout, run SQL,
// prepared statements, and transactions that roll back on any error (or a kill: SQLite's
// journal makes an interrupted transaction vanish on the next open).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <sqlite3.h>

#include "core/status.h"

namespace ogai::registry {

class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
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
  sqlite3* db_;
  sqlite3_stmt* s_;
};

class Db {
 public:
  // Opens (creating) the database file with WAL journaling and a 60 s busy timeout.
  static Result<std::unique_ptr<Db>> Open(const std::string& path);
  ~Db();
  Status Exec(const std::string& sql);
  Result<Stmt> Prepare(const std::string& sql);
  // BEGIN IMMEDIATE (the write lock up front, so two writers queue instead of deadlocking);
  // COMMIT when `body` succeeds, ROLLBACK otherwise.
  Status Transaction(const std::function<Status()>& body);
  const std::string& path() const { return path_; }

 private:
  Db() = default;
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace ogai::registry
