// The rendezvous store: a small key-value service every rank of a job talks to.
//
// The launcher hosts a StoreServer (server.h); ranks connect with ConnectTcpStore and use the
// Store interface below to exchange NCCL ids and UCX addresses, count arrivals, publish
// heartbeats and vote on checkpoints. PrefixStore namespaces keys so that independent users
// (process groups, the agent, the checkpointer) never collide.
//
// Contract, for every implementation:
//   - Keys are arbitrary non-empty byte strings; values are byte strings (empty allowed).
//   - Every call that can block takes a timeout; a timed-out call returns Code::kTimeout
//     whose message names the keys still missing. Nothing blocks forever.
//   - A store is safe to use from several threads at once. Blocking calls from different
//     threads do not block each other (TcpStore opens another connection when all of its
//     connections are busy).
//   - A dead or unreachable server gives Code::kUnavailable naming host:port.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::store {

// The longest a blocking call waits (30 days): longer timeouts are clamped to it, so that a
// huge timeout_ms cannot overflow a deadline and time out at once.
inline constexpr std::chrono::milliseconds kMaxStoreTimeout{int64_t{30} * 24 * 3600 * 1000};

class Store {
 public:
  virtual ~Store();

  // Sets key to value (overwrites) and wakes every waiter on key.
  virtual Status Set(const std::string& key, const std::string& value) = 0;
  // Returns key's value, waiting up to `timeout` for someone to set it.
  virtual Result<std::string> Get(const std::string& key, std::chrono::milliseconds timeout) = 0;
  // Atomically adds delta to the integer stored at key (a missing key counts as 0) and
  // returns the new value. The value is stored as decimal text, so Get() reads it too.
  // A key holding something that is not an integer gives kInvalidArgument.
  virtual Result<int64_t> Add(const std::string& key, int64_t delta) = 0;
  // Atomically: if key's value equals `expected` (a missing key equals ""), sets it to
  // `desired`. Returns the value stored afterwards (== desired on success).
  virtual Result<std::string> CompareSet(const std::string& key, const std::string& expected,
                                         const std::string& desired) = 0;
  // Waits until every key exists. On timeout the error lists the keys still missing.
  virtual Status Wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) = 0;
  // Deletes key; returns whether it existed.
  virtual Result<bool> Delete(const std::string& key) = 0;
  // Returns key's value, or nullopt when it is not set. Never waits.
  virtual Result<std::optional<std::string>> TryGet(const std::string& key) = 0;
  // Every key that starts with prefix, sorted. For a PrefixStore, the prefix is relative to
  // its namespace and the keys are returned without the namespace.
  virtual Result<std::vector<std::string>> ListKeys(const std::string& prefix) = 0;
};

// Connects to a StoreServer at host:port and authenticates with `token`. Retries while the
// server is not up yet, for up to connect_timeout. A wrong token gives kPermissionDenied.
Result<std::unique_ptr<Store>> ConnectTcpStore(const std::string& host, int port, const std::string& token,
                                               std::chrono::milliseconds connect_timeout);

// A view of `base` in which every key is "<prefix>/<key>". Prefixes nest.
std::unique_ptr<Store> MakePrefixStore(std::shared_ptr<Store> base, std::string prefix);

}  // namespace ogai::store
