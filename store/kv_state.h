// KvState: the store's key-value semantics with no I/O, no threads and no clock of its own.
//
// Both transports run their operations on one KvState: StoreServer (server.h) answers TCP
// clients from its epoll thread, MemoryStore (memory_store.h) answers threads of one process
// under a mutex. KvState is not thread-safe; its owner serialises every call.
//
// Waiting. Get and Wait are "wait requests": Park() answers one at once when its keys exist,
// and otherwise keeps it (a "waiter") until a mutation (Set, Add, a successful CompareSet)
// makes it answerable or Expire() reaches its deadline. Every call that can answer waiters
// appends their answers to `woken`, in the order the waiters were parked; the owner delivers
// them. Deadlines are computed from the `now` the owner passes in, so tests and transports
// decide what time it is.
//
// Errors, as the Store contract (store.h) names them: an empty key in Set is kInvalidArgument,
// Add on a key that does not hold an integer is kInvalidArgument, an expired waiter gets
// kTimeout whose message names the keys still missing ("keys still missing: 'a', 'b'").
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::store {

class KvState {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // A Get (is_get: answer with keys[0]'s value) or a Wait (answer when all keys exist).
  struct WaitRequest {
    uint64_t owner = 0;  // who asked (a client id); DropOwner() forgets its waiters
    uint64_t tag = 0;    // the owner's id for the request, handed back in the answer
    std::vector<std::string> keys;
    bool is_get = false;
    int64_t timeout_ms = 0;  // <= 0: answered at once or at the next Expire()
  };

  struct WaitAnswer {
    uint64_t owner = 0;
    uint64_t tag = 0;
    Status status;                     // OK, or kTimeout
    std::string value;                 // a Get's value (OK only)
    std::vector<std::string> missing;  // the keys still missing (kTimeout only)
  };
  using Answers = std::vector<WaitAnswer>;

  // Sets key to value and answers the waiters that became answerable.
  Status Set(const std::string& key, const std::string& value, Answers* woken);
  // Adds delta to key's integer (missing: 0); returns the new value.
  Result<int64_t> Add(const std::string& key, int64_t delta, Answers* woken);
  // If key's value (missing: "") equals expected, sets desired. Returns the value stored after.
  std::string CompareSet(const std::string& key, const std::string& expected, const std::string& desired,
                         Answers* woken);
  // Returns whether key existed. Deleting answers no waiter.
  bool Delete(const std::string& key);
  std::optional<std::string> TryGet(const std::string& key) const;
  // Every key that starts with prefix, sorted.
  std::vector<std::string> ListKeys(const std::string& prefix) const;

  // Answers req now when its keys exist; otherwise parks it with the deadline
  // now + timeout_ms and returns nullopt.
  std::optional<WaitAnswer> Park(WaitRequest req, TimePoint now);
  // Answers every waiter whose deadline is at or before now with kTimeout.
  void Expire(TimePoint now, Answers* expired);
  // Forgets the waiters of owner without answering them (its client went away).
  void DropOwner(uint64_t owner);
  // The earliest deadline of a parked waiter; nullopt when none is parked.
  std::optional<TimePoint> NextDeadline() const;
  // Waiters parked now. For tests and diagnostics: a test waits until a waiter is parked
  // before it sets the key, so that it exercises the wake-up path rather than racing it.
  int WaiterCount() const;

 private:
  struct Waiter {
    WaitRequest req;
    TimePoint deadline;
  };
  bool Answerable(const WaitRequest& req) const;
  WaitAnswer Answer(const WaitRequest& req) const;
  void Wake(Answers* woken);

  std::map<std::string, std::string> data_;
  std::list<Waiter> waiters_;  // in the order they were parked
};

}  // namespace ogai::store
