// StoreServer: the TCP side of the rendezvous store (one per job, hosted by the launcher).
// It is a transport: the key-value semantics, waiting included, live in KvState (kv_state.h).
//
// One thread serves every client with epoll; all operations are atomic with respect to each
// other. The server checks each client's token before anything else, and drops a client
// that sends a malformed frame, an oversized frame (> kMaxFrameBytes) or disconnects
// mid-message, while it keeps serving everybody else. Waiting requests (Get, Wait) are
// parked on the server and answered when their keys appear or their timeout passes.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace ogai::store {

class StoreServer {
 public:
  // Binds bind_host:port (port 0 picks a free port; see port()) and starts serving.
  // A port in use gives kUnavailable naming the address.
  static Result<std::unique_ptr<StoreServer>> Start(const std::string& bind_host, int port, const std::string& token);
  ~StoreServer();
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;

  int port() const;
  // Number of clients currently connected (for tests and the launcher's status line).
  int num_clients() const;
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
