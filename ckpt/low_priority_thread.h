// LowPriorityThread: one thread that runs what it is given at a low CPU and I/O priority.
//
// The checkpoint writer hands it the part of a save nobody waits for (checksums, writes,
// fdatasync, commit), so that when the training loop keeps the cores busy the writer takes a
// small share of them instead of an equal one: the thread runs at nice kWriterNice (CFS weight
// 110 against 1024 for a nice-0 thread: about a tenth of a contended core) and at the lowest
// best-effort I/O priority (ioprio_set; BFQ honours the level, mq-deadline and "none" do
// not). Not SCHED_IDLE or nice 19, nor the idle I/O class: measured on the shared 2-core VM,
// a SCHED_IDLE writer got no CPU at all for minutes while other processes were runnable, and
// the save never finished; a checkpoint must still be written on a busy machine. The
// priorities are set once on this thread: an unprivileged thread may lower its own priority
// but not raise it again, which is why the urgent part of a save (the copy the training loop
// waits for) stays on the writer's own thread. Failing to lower a priority is not an error
// (logged at info).
//
//   LowPriorityThread t;
//   t.Run([&] { ... });   // runs on t's thread; returns when it has
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace ogai::ckpt {

constexpr int kWriterNice = 10;

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
