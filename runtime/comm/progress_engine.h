// ProgressEngine: the in-order operation queue and progress thread of one CPU process group
// (ucx and mpi backends). Internal to runtime/comm.
//
// Operations are blocking functions (they drive the network until done, checking their
// deadline and abort flag). Exactly one thread runs them at a time, in submission order:
//   - the group's progress thread, so that an operation completes while the caller
//     computes (overlap); or
//   - the caller itself, inside Work::Wait(), when the operation has not been picked up
//     yet: a caller that waits anyway runs it on its own thread, which saves two thread
//     hand-offs per operation (this is what makes small collectives as fast as MPI's).
//
// CPU cost of the progress thread: it sleeps when it has nothing to do. Operations of at
// least `wake_bytes` wake it at once; smaller ones are left to a waiting caller and picked
// up by the thread only if nobody ran them within `claim_delay` (a short timer tick runs
// while operations are recent; none when the group is idle). Backends can hand it a file
// descriptor (the UCX worker's event fd) to sleep on while a peer is slow.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/comm/work.h"

namespace ogai::comm::detail {

using Clock = std::chrono::steady_clock;

struct OpContext {
  Clock::time_point deadline;         // fail with kTimeout after this
  const std::atomic<bool>* abort;     // set by Work::Abort() or group shutdown
  bool on_caller_thread = false;      // run inside Wait(): spinning is free
  uint64_t seq = 0;                   // collective sequence number (same on every member)
  bool aborted() const { return abort->load(std::memory_order_relaxed); }
};

using OpFn = std::function<Status(const OpContext&)>;

struct EngineHooks {
  // Idle-time polling with the execution lock held (progress the network, answer control
  // messages). May be empty.
  std::function<void()> poll;
  // Called with the lock held right before sleeping on event_fd. Returns false when there
  // is more to poll first (UCX: ucp_worker_arm() said busy).
  std::function<bool()> arm;
  int event_fd = -1;
};

struct EngineTuning {
  size_t wake_bytes = 64 << 10;
  std::chrono::microseconds claim_delay{200};
  std::chrono::microseconds hot_tick{1000};     // timer while operations are recent
  std::chrono::milliseconds hot_period{200};    // "recent"
  std::chrono::milliseconds idle_tick{100};     // timer when idle (answers probes)
};

class ProgressEngine {
 public:
  struct State;

  ProgressEngine(std::string group_name, std::chrono::milliseconds timeout, EngineHooks hooks,
                 EngineTuning tuning = {});
  ~ProgressEngine();
  ProgressEngine(const ProgressEngine&) = delete;
  ProgressEngine& operator=(const ProgressEngine&) = delete;

  // collective: takes the next collective sequence number (same on every member).
  WorkPtr Submit(const char* op_name, size_t bytes, bool collective, OpFn fn);
  // Stops the thread; queued operations fail with kAborted. Idempotent.
  void Shutdown();
  // The failure that made the group unusable (OK while it is usable).
  Status broken() const;
  // Runs fn with the execution lock held (no operation runs meanwhile).
  Status RunExclusive(const std::function<Status()>& fn);
  // Number of collectives started so far on this rank (for diagnostics).
  uint64_t collectives_started() const;

 private:
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace ogai::comm::detail
