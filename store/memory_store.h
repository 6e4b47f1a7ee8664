// MemoryStore: the Store contract (store.h) inside one process, with no server and no sockets.
//
// For single-process runs and tests: every thread of the process that holds the same
// MemoryStore sees the same keys. It runs the same KvState as StoreServer, so keys, values,
// Add's integers, CompareSet, ListKeys, the wake-up of waiters and the errors (kTimeout naming
// the missing keys, kInvalidArgument) are those of a TcpStore. It never returns kUnavailable:
// there is no server to lose.
//
// Thread safety: every call may come from any thread. A blocking Get or Wait parks on the
// state and sleeps on a condition variable, so it blocks neither other threads' calls nor
// other blocking calls.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "store/kv_state.h"
#include "store/store.h"

namespace ogai::store {

class MemoryStore final : public Store {
 public:
  MemoryStore();
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  Status Set(const std::string& key, const std::string& value) override;
  Result<std::string> Get(const std::string& key, std::chrono::milliseconds timeout) override;
  Result<int64_t> Add(const std::string& key, int64_t delta) override;
  Result<std::string> CompareSet(const std::string& key, const std::string& expected,
                                 const std::string& desired) override;
  Status Wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) override;
  Result<bool> Delete(const std::string& key) override;
  Result<std::optional<std::string>> TryGet(const std::string& key) override;
  Result<std::vector<std::string>> ListKeys(const std::string& prefix) override;

  // Get and Wait calls blocked now. For tests and diagnostics: a test waits until its
  // waiter is parked before it sets the key.
  int WaiterCount() const;

 private:
  // Parks a Get or Wait and sleeps until it is answered (a key arrived, or its deadline).
  KvState::WaitAnswer Block(std::vector<std::string> keys, bool is_get, std::chrono::milliseconds timeout);
  // Hands answers to their sleeping callers. Called with mu_ held.
  void Post(KvState::Answers answers);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  KvState state_;
  uint64_t next_tag_ = 1;
  std::unordered_map<uint64_t, KvState::WaitAnswer> answered_;  // by tag, not yet collected
};

}  // namespace ogai::store
