// StoreServer: the TCP side of the rendezvous store (one per job, hosted by the launcher).
// It is a transport: the key-value semantics, waiting included, live in KvState (kv_state.h).
//
// One thread serves every client with epoll; all operations are atomic with respect to each
// other. A client first proves it holds the job token (store/auth.h: challenge-response, the
// token never crosses the wire; then a MAC on every message). Until then its frames may be at
// most a few KiB, it must finish within auth_timeout, and at most max_pending such clients
// are kept (a new one closes the oldest); at most max_connections clients in all. The server
// drops a client that sends a malformed frame, an oversized frame, a bad MAC, or disconnects
// mid-message, while it keeps serving everybody else. When the process runs out of file
// descriptors it stops accepting for a moment instead of spinning. Waiting requests (Get,
// Wait) are parked on the server and answered when their keys appear or their timeout passes.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/status.h"

namespace ogai::store {

struct StoreServerLimits {
  int max_connections = 4096;
  int max_pending = 64;  // connections not yet authenticated
  std::chrono::milliseconds auth_timeout{5000};
  // The defaults, overridden by OGAI_STORE_MAX_CONNECTIONS, OGAI_STORE_MAX_PENDING and
  // OGAI_STORE_AUTH_TIMEOUT_MS (core/knobs.h).
  static StoreServerLimits FromKnobs();
};

class StoreServer {
 public:
  // Binds bind_host:port (port 0 picks a free port; see port()) and starts serving.
  // A port in use gives kUnavailable naming the address.
  static Result<std::unique_ptr<StoreServer>> Start(const std::string& bind_host, int port, const std::string& token,
                                                    const StoreServerLimits& limits = StoreServerLimits::FromKnobs());
  ~StoreServer();
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;

  int port() const;
  // Number of clients currently connected (for tests and the launcher's status line).
  int num_clients() const;
  // Of which not yet authenticated.
  int num_pending() const;
  // Get and Wait requests parked on the server now (their keys are missing). Updated before
  // any answer goes out, so a client holding an answer never sees its waiter counted. For
  // tests and diagnostics: a test waits until its waiter is parked before it sets the key.
  int WaiterCount() const;
  // Stops serving and closes every connection. Idempotent; the destructor calls it.
  void Stop();

  class Impl;

 private:
  explicit StoreServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ogai::store
