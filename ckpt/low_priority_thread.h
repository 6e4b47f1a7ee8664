// LowPriorityThread: one thread that runs what it is given at the lowest CPU and I/O priority.
//
// The checkpoint writer hands it the part of a save nobody waits for (checksums, writes,
// fdatasync, commit), so that on a machine whose cores the training loop keeps busy those
// cycles come from idle time instead of from the step: the thread runs under SCHED_IDLE
// (nice 19 where that is refused) and in the idle I/O class (ioprio_set; the block layer's
// scheduler decides what that means: mq-deadline and BFQ serve idle-class requests after the
// others, with aging so they are not starved; "none" ignores it). The priorities are set once
// on this thread: an unprivileged thread may lower its own priority but not raise it again,
// which is why the urgent part of a save (the copy the training loop waits for) stays on the
// writer's own thread. Failing to lower a priority is not an error (logged once at info).
//
//   LowPriorityThread t;
//   t.Run([&] { ... });   // runs on t's thread; returns when it has
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace ogai::ckpt {

class LowPriorityThread {
 public:
  LowPriorityThread();
  ~LowPriorityThread();
  LowPriorityThread(const LowPriorityThread&) = delete;
  LowPriorityThread& operator=(const LowPriorityThread&) = delete;

  // Runs fn on the thread and waits for it. One caller at a time.
  void Run(const std::function<void()>& fn);

 private:
  void Main();

  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<void()>* fn_ = nullptr;
  bool done_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ogai::ckpt
