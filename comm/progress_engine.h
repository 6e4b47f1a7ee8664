// ProgressEngine: the in-order operation queue and progress thread of one CPU process group
// (ucx and mpi backends). Internal to comm/.
//
// Operations are blocking functions (they drive the network until done, checking their
// deadline and abort flag). Exactly one thread runs them at a time, in submission order:
//   - a caller blocked in Work::Wait() runs every queued operation up to its own on its own
//     thread: a caller that waits anyway drives the operation itself, as NCCL/gloo do, with
//     no thread hand-off (this is what makes small blocking collectives fast);
//   - the group's progress thread runs operations nobody waits for, so that they complete
//     while the caller computes (overlap): at once for operations of at least `wake_bytes`,
//     after `claim_delay` for smaller ones (a caller usually waits for those right away).
//     While a caller drives, the thread keeps its hands off the queue.
//
// CPU cost of the progress thread: it sleeps when it has nothing to run (a 1 ms tick while
// it finds small unwaited operations to claim, backing off to 50 ms while it finds none;
// the idle tick also answers probes). It never touches the execution lock while it sleeps, so it never
// stalls a caller that drives. Operations it runs wait for peers without a hot spin (the
// shared-memory path sleeps on a futex, the UCX path on the worker's event fd) unless a
// caller is waiting for them (OpContext::hot()).
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

#include "comm/work.h"

namespace ogai::comm::detail {

using Clock = std::chrono::steady_clock;

struct OpContext {
  std::chrono::milliseconds timeout{0};       // the group's timeout for one operation
  const std::atomic<bool>* abort;             // set by Work::Abort() or group shutdown
  bool on_caller_thread = false;              // run inside Wait(): spinning is free
  const std::atomic<int>* waiters = nullptr;  // callers blocked in Wait() (low 16 bits)
  uint64_t seq = 0;                           // collective sequence number (same on every member)
  bool aborted() const { return abort->load(std::memory_order_relaxed); }
  // Fail with kTimeout after this: `timeout` after the operation first asked (an operation
  // that never has to wait never reads the clock, which costs tens of ns in a VM).
  Clock::time_point deadline() const {
    if (deadline_ == Clock::time_point{}) deadline_ = Clock::now() + timeout;
    return deadline_;
  }
  mutable Clock::time_point deadline_{};
  // Somebody is blocked until this finishes: polling beats sleeping.
  bool hot() const {
    return on_caller_thread || (waiters != nullptr && (waiters->load(std::memory_order_relaxed) & 0xffff) > 0);
  }
};

using OpFn = std::function<Status(const OpContext&)>;

struct EngineHooks {
  // Idle-time polling by the progress thread (answer probes, progress point-to-point
  // messages), about once per idle_tick. Runs WITHOUT the execution lock: it must be
  // thread-safe against a running operation. May be empty.
  std::function<void()> poll;
};

struct EngineTuning {
  size_t wake_bytes = 1 << 20;  // OGAI_COMM_WAKE_BYTES
  std::chrono::microseconds claim_delay{200};
  std::chrono::microseconds hot_tick{1000};  // timer while the thread finds work to claim
  std::chrono::milliseconds idle_tick{50};   // longest timer (backs off to it; answers probes)
  // Reads OGAI_COMM_WAKE_BYTES.
  static EngineTuning FromEnv();
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
