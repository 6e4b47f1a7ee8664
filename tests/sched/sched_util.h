// A real ogai-sched for the tests: its own state folder, pool and tenants, started as a child;
// the CLI `ogai` run against it; and, at the end, every job it started stopped and checked
// gone (each rank carries OGAI_TEST_MARK, inherited through ogai-run).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/launcher/run_util.h"
#include "tests/util/job.h"

namespace ogai::sched_testing {

using launch::testing::RunResult;

class Daemon {
 public:
  // `pool`: hostfile text; `tenants`: the tenants YAML; `env`: extra environment (ssh).
  Daemon(const std::string& tag, const std::string& pool, const std::string& tenants,
         const std::vector<std::string>& env = {}, const std::vector<std::string>& flags = {});
  ~Daemon();  // stops the daemon and every job it started; fails the test if a rank is left

  void Start();  // waits for "listening"
  void Kill9();  // SIGKILL, as a crash would
  std::string state() const { return dir_.path() + "/state"; }
  std::string dir() const { return dir_.path(); }
  const std::string& mark() const { return mark_; }
  std::string daemon_log() const;

  // `ogai ARGS...` with `token`.
  RunResult Ogai(const std::string& token, const std::vector<std::string>& args, double timeout = 60);
  // Submits; returns the job id (0 on failure, and the test fails).
  int64_t Submit(const std::string& token, const std::vector<std::string>& args);
  // The STATE (and REASON) fields of `ogai show ID` ("" when it fails).
  std::string State(int64_t id);
  std::string Reason(int64_t id);
  std::string Show(int64_t id);
  // Polls until the job is in `state` (true) or `timeout` seconds pass.
  bool WaitState(int64_t id, const std::string& state, double timeout);
  std::string admin_token() const;
  // Writes a config file into the test folder and returns its path.
  std::string WriteConfig(const std::string& name, const std::string& yaml);
  // The job's folder.
  std::string JobDir(int64_t id) const { return state() + "/jobs/" + std::to_string(id); }

 private:
  testing::TempDir dir_;
  std::string mark_;
  std::vector<std::string> env_, flags_;
  std::unique_ptr<launch::testing::Child> child_;
};

}  // namespace ogai::sched_testing
