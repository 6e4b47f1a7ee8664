#include "launcher/event_loop.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ogai::launch {

EventLoop::EventLoop() { wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

EventLoop::~EventLoop() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void EventLoop::AddFd(int fd, short events, FdCallback cb) { fds_[fd] = {events, std::move(cb)}; }

void EventLoop::RemoveFd(int fd) { fds_.erase(fd); }

EventLoop::TimerId EventLoop::After(double seconds, std::function<void()> fn) {
  TimerId id = next_timer_++;
  timers_[id] = {Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)),
                 0.0, std::move(fn)};
  return id;
}

EventLoop::TimerId EventLoop::Every(double seconds, std::function<void()> fn) {
  TimerId id = After(seconds, std::move(fn));
  timers_[id].period = seconds;
  return id;
}

void EventLoop::Cancel(TimerId id) { timers_.erase(id); }

void EventLoop::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lk(post_mu_);
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  ssize_t w = ::write(wake_fd_, &one, sizeof one);
  (void)w;
}

void EventLoop::DrainPosted() {
  uint64_t v;
  while (::read(wake_fd_, &v, sizeof v) > 0) {
  }
  std::vector<std::function<void()>> todo;
  {
    std::lock_guard<std::mutex> lk(post_mu_);
    todo.swap(posted_);
  }
  for (auto& fn : todo) fn();
}

void EventLoop::RunDueTimers() {
  auto now = Clock::now();
  std::vector<TimerId> due;
  for (auto& [id, t] : timers_)
    if (t.due <= now) due.push_back(id);
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier timer
    std::function<void()> fn = it->second.fn;
    if (it->second.period > 0) {
      it->second.due =
          now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(it->second.period));
    } else {
      timers_.erase(it);
    }
    fn();
  }
}

void EventLoop::Run() {
  quit_ = false;
  std::vector<pollfd> pfds;
  while (!quit_) {
    pfds.clear();
    pfds.push_back({wake_fd_, POLLIN, 0});
    for (auto& [fd, e] : fds_) pfds.push_back({fd, e.first, 0});
    int timeout_ms = -1;
    if (!timers_.empty()) {
      auto next = std::min_element(timers_.begin(), timers_.end(), [](auto& a, auto& b) {
                    return a.second.due < b.second.due;
                  })->second.due;
      auto d = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count();
      timeout_ms = d < 0 ? 0 : static_cast<int>(std::min<long long>(d + 1, 1 << 30));
    }
    int n = ::poll(pfds.data(), pfds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) break;
    if (n > 0) {
      if (pfds[0].revents) DrainPosted();
      for (size_t i = 1; i < pfds.size() && !quit_; ++i) {
        if (pfds[i].revents == 0) continue;
        auto it = fds_.find(pfds[i].fd);
        if (it == fds_.end()) continue;  // removed by an earlier callback
        FdCallback cb = it->second.second;
        cb(pfds[i].revents);
      }
    }
    if (!quit_) RunDueTimers();
  }
}

}  // namespace ogai::launch
