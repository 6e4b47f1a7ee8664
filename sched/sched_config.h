// ogai-sched's flags and the files they name: the pool (an Open MPI hostfile), the tenants
// (YAML), the admin token (STATE/admin.token, made on the first start).
#pragma once

#include <string>

#include "core/status.h"
#include "sched/scheduler.h"

namespace ogai::sched {

struct DaemonFlags {
  std::string state;
  std::string pool;
  std::string tenants;
  std::string listen;  // default unix:STATE/sched.sock
  std::string backend = "local";
  std::string ogai_run;
  double grace_s = 120;
  double half_life_s = 3600;
  int tick_ms = 200;
  bool verbose = false;
  std::string http;                     // --http HOST:PORT: the dashboard ("" : off)
  bool http_allow_remote = false;       // --http-allow-remote: a non-loopback --http address
  std::string http_cert, http_key;      // --http-cert/--http-key: serve the dashboard over HTTPS
  std::string listen_cert, listen_key;  // --listen-cert/--listen-key: gRPC over TLS (TCP --listen)
  std::string registry;                 // --registry DIR: the ogai-model registry for /api/models
};

// Aborted for --help.
Status ParseDaemonFlags(int argc, char** argv, DaemonFlags* f);

// Reads the pool, the tenants and the admin token; creates the state folder.
Result<SchedulerOptions> BuildSchedulerOptions(DaemonFlags& f, const char* argv0);

// Tenants from YAML text:
//   tenants:
//     alice: {quota: 4, borrow: 2, token: "secret-a"}
//     bob:   {quota: 4, token_file: /etc/ogai/bob.token}
Result<std::vector<TenantConfig>> ParseTenants(const std::string& yaml, const std::string& source);

// 32 random hex digits (/dev/urandom).
Result<std::string> NewToken();

}  // namespace ogai::sched
