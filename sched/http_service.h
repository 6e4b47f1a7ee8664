// The dashboard's HTTP front end of the scheduler (`ogai-sched --http HOST:PORT`): the pages
// (web/dashboard_page.h) and a JSON API (sched/http_api.h) answered by the same Scheduler
// calls as the gRPC service, with the same tokens. HTTP is Debian's cpp-httplib; with a
// certificate and key it serves HTTPS instead (cpp-httplib's SSLServer, OpenSSL).
//
// Loopback only unless allow_remote or HTTPS; a fixed pool of threads; short read and write timeouts;
// request bodies over 4 KiB refused. Bind() comes first (so a port in use is one error line
// before anything starts), Start() serves on a thread of its own, Stop() (or the destructor)
// closes the port and joins every thread.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "sched/scheduler.h"

namespace ogai::sched {

struct HttpOptions {
  std::string listen;         // HOST:PORT (PORT 0: a free one)
  bool allow_remote = false;  // serve plain HTTP on an address that is not loopback
  std::string cert_file;      // PEM certificate (chain) and its private key: HTTPS, and
  std::string key_file;       // then any address is allowed
  std::string registry;       // the ogai-model registry root for /api/models ("" : none)
  std::string state_dir;      // the scheduler's folder (http.port is written there)
  int threads = 8;
};

// Splits HOST:PORT ([::1]:PORT for IPv6) and refuses a host that is not loopback unless
// allow_remote. One line saying what to change.
Status ParseHttpAddress(const std::string& listen, bool allow_remote, std::string* host, int* port);

class HttpService {
 public:
  static Result<std::unique_ptr<HttpService>> Bind(const HttpOptions& o);
  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  int port() const;
  std::string url() const;  // http://HOST:PORT/, or https://
  // Serves `s` (which must outlive Stop()) on a thread of its own.
  void Start(Scheduler* s);
  // Closes the port and joins every thread; idempotent.
  void Stop();

 private:
  struct Impl;
  explicit HttpService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ogai::sched
