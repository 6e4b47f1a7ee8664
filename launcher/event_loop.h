// A small single-threaded event loop (poll(2)): file descriptors, timers, and closures posted
// from other threads. The launcher and every agent run one; all their state is touched only
// on the loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "core/status.h"

namespace ogai::launch {

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using FdCallback = std::function<void(short revents)>;
  using TimerId = uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` for `events` (POLLIN, ...). One callback per fd; adding again replaces it.
  void AddFd(int fd, short events, FdCallback cb);
  void RemoveFd(int fd);

  // Runs `fn` once after `seconds`, or every `seconds` (first after `seconds`).
  TimerId After(double seconds, std::function<void()> fn);
  TimerId Every(double seconds, std::function<void()> fn);
  void Cancel(TimerId id);

  // Thread-safe: runs `fn` on the loop's thread soon.
  void Post(std::function<void()> fn);

  // Runs until Quit(). Quit() may be called from a callback, or (through Post) from anywhere.
  void Run();
  void Quit() { quit_ = true; }

 private:
  struct Timer {
    Clock::time_point due;
    double period;  // 0: one-shot
    std::function<void()> fn;
  };
  void RunDueTimers();
  void DrainPosted();

  std::map<int, std::pair<short, FdCallback>> fds_;
  std::map<TimerId, Timer> timers_;
  TimerId next_timer_ = 1;
  bool quit_ = false;
  int wake_fd_ = -1;  // eventfd
  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace ogai::launch
