// The scheduler's state on disk: one SQLite database (STATE/sched.db) in WAL mode, every change
// of state one transaction, so that the daemon killed at any moment (kill -9, a power cut)
// restarts with every job it had accepted and knows which attempt of which job it started.
//
// Tables: jobs (one row per job, all of types.h's Job), tenants (decayed usage), nodes (up/down
// with the reason), events (a job's history, for `ogai show`).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "registry/db.h"
#include "sched/types.h"

namespace ogai::sched {

class StateDb {
 public:
  // Opens (creating) DIR/sched.db.
  static Result<std::unique_ptr<StateDb>> Open(const std::string& path);
  ~StateDb();

  Result<std::vector<Job>> LoadJobs();
  Result<std::vector<Tenant>> LoadTenants();
  Result<std::vector<Node>> LoadNodes();

  // One transaction: writes the job (a new one gets its id) and, when `event` is not empty,
  // one line of its history.
  Status SaveJob(Job* job, const std::string& event, double now_unix);
  // One transaction for several jobs (a pass's decisions).
  Status SaveJobs(const std::vector<Job*>& jobs, const std::vector<std::string>& events, double now_unix);
  Status SaveTenants(const std::vector<Tenant>& tenants);
  Status SaveNode(const Node& node);
  Result<std::vector<std::string>> Events(int64_t job);

 private:
  StateDb() = default;
  Status WriteJob(Job* job);
  Status WriteEvent(int64_t job, const std::string& text, double now_unix);
  std::unique_ptr<registry::Db> db_;
};

}  // namespace ogai::sched
