#include "runtime/comm/progress_engine.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/core/log.h"

namespace ogai::comm {

Work::~Work() = default;

namespace {
class CompletedWork final : public Work {
 public:
  explicit CompletedWork(Status st) : st_(std::move(st)) {}
  Status Wait(std::chrono::milliseconds) override { return st_; }
  bool Test() override { return true; }
  void Abort() override {}
  Status status() const override { return st_; }

 private:
  Status st_;
};
}  // namespace

WorkPtr MakeCompletedWork(Status status) { return std::make_shared<CompletedWork>(std::move(status)); }

namespace detail {

class CpuWork;

struct ProgressEngine::State {
  std::string group;
  std::chrono::milliseconds timeout;
  EngineHooks hooks;
  EngineTuning tuning;
  int wake_fd = -1;

  std::mutex exec_mu;  // held by whoever runs operations / touches the transport
  std::mutex mu;       // guards queue, broken, stop
  std::condition_variable cv;
  std::deque<std::shared_ptr<CpuWork>> queue;
  Status broken_status;
  bool stop = false;
  std::atomic<bool> sleeping_long{false};
  std::atomic<int64_t> last_submit_ns{0};
  uint64_t next_seq = 0;  // under mu
  std::atomic<uint64_t> started{0};

  void Wake() {
    uint64_t one = 1;
    ssize_t w = ::write(wake_fd, &one, sizeof(one));
    (void)w;
  }
  // Runs queued operations with exec_mu held, until `until` is done (or the queue is empty
  // when until is null).
  void RunQueued(bool on_caller_thread, const CpuWork* until);
};

class CpuWork final : public Work {
 public:
  CpuWork(std::shared_ptr<ProgressEngine::State> st, const char* op, size_t bytes, bool collective,
          OpFn fn)
      : state_(std::move(st)), op_(op), bytes_(bytes), collective_(collective), fn_(std::move(fn)),
        submitted_(Clock::now()) {}

  Status Wait(std::chrono::milliseconds timeout) override {
    const auto now = Clock::now();
    const auto deadline = timeout >= std::chrono::hours(24 * 365) ? Clock::time_point::max()
                                                                  : now + timeout;
    int spins = 0;
    for (;;) {
      if (done_.load(std::memory_order_acquire)) return status_;
      // Not picked up yet: run it here (only when the caller waits for as long as it takes;
      // a bounded Wait must be able to return while the operation runs on).
      if (deadline == Clock::time_point::max() && state_->exec_mu.try_lock()) {
        state_->RunQueued(/*on_caller_thread=*/true, this);
        state_->exec_mu.unlock();
        state_->cv.notify_all();
        continue;
      }
      if (Clock::now() >= deadline) {
        return Timeout(std::string(op_) + " on group '" + state_->group + "' still running after " +
                       std::to_string(timeout.count()) + " ms of Wait");
      }
      if (++spins < 2000) {
        __builtin_ia32_pause();
        continue;
      }
      std::unique_lock<std::mutex> lk(state_->mu);
      state_->cv.wait_for(lk, std::chrono::microseconds(200),
                          [&] { return done_.load(std::memory_order_acquire); });
    }
  }

  bool Test() override { return done_.load(std::memory_order_acquire); }
  void Abort() override { abort_.store(true); }
  Status status() const override {
    return done_.load(std::memory_order_acquire) ? status_ : Status::Ok();
  }

  // Runs the operation on the current thread (exec_mu held).
  void Run(bool on_caller_thread) {
    Status st;
    {
      std::unique_lock<std::mutex> lk(state_->mu);
      if (!state_->broken_status.ok()) {
        st = Aborted(std::string(op_) + " on group '" + state_->group +
                     "' not run: the group is unusable after an earlier failure: " +
                     state_->broken_status.message());
      }
    }
    if (st.ok() && abort_.load()) {
      st = Aborted(std::string(op_) + " on group '" + state_->group + "' aborted before it started");
    }
    if (st.ok()) {
      OpContext ctx;
      ctx.deadline = Clock::now() + state_->timeout;
      ctx.abort = &abort_;
      ctx.on_caller_thread = on_caller_thread;
      ctx.seq = seq_;
      if (collective_) state_->started.fetch_add(1, std::memory_order_relaxed);
      st = fn_(ctx);
    }
    Finish(std::move(st));
  }

  void Finish(Status st) {
    if (!st.ok()) {
      std::unique_lock<std::mutex> lk(state_->mu);
      if (state_->broken_status.ok()) state_->broken_status = st;
    }
    status_ = std::move(st);
    fn_ = nullptr;  // drop captured buffers
    done_.store(true, std::memory_order_release);
  }

  std::atomic<bool> abort_{false};
  std::shared_ptr<ProgressEngine::State> state_;
  const char* op_;
  size_t bytes_;
  bool collective_;
  OpFn fn_;
  Clock::time_point submitted_;
  uint64_t seq_ = 0;
  std::atomic<bool> done_{false};
  Status status_;
};

void ProgressEngine::State::RunQueued(bool on_caller_thread, const CpuWork* until) {
  for (;;) {
    std::shared_ptr<CpuWork> w;
    {
      std::lock_guard<std::mutex> lk(mu);
      if (queue.empty()) return;
      w = std::move(queue.front());
      queue.pop_front();
    }
    w->Run(on_caller_thread);
    cv.notify_all();
    if (w.get() == until) return;
  }
}

ProgressEngine::ProgressEngine(std::string group_name, std::chrono::milliseconds timeout,
                               EngineHooks hooks, EngineTuning tuning)
    : state_(std::make_shared<State>()) {
  state_->group = std::move(group_name);
  state_->timeout = timeout;
  state_->hooks = std::move(hooks);
  state_->tuning = tuning;
  state_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  state_->last_submit_ns = Clock::now().time_since_epoch().count();
  auto st = state_;
  thread_ = std::thread([st] {
    auto& s = *st;
    for (;;) {
      {
        std::lock_guard<std::mutex> lk(s.mu);
        if (s.stop) return;
      }
      const auto now = Clock::now();
      // Is an operation waiting that the thread should run?
      Clock::time_point next_eligible = Clock::time_point::max();
      {
        std::lock_guard<std::mutex> lk(s.mu);
        if (!s.queue.empty()) {
          const auto& w = s.queue.front();
          next_eligible = w->bytes_ >= s.tuning.wake_bytes ? w->submitted_
                                                           : w->submitted_ + s.tuning.claim_delay;
        }
      }
      if (next_eligible <= now && s.exec_mu.try_lock()) {
        s.RunQueued(false, nullptr);
        s.exec_mu.unlock();
        s.cv.notify_all();
        continue;
      }
      bool armed = true;
      if (s.hooks.poll && s.exec_mu.try_lock()) {
        s.hooks.poll();
        if (s.hooks.arm) armed = s.hooks.arm();
        s.exec_mu.unlock();
        s.cv.notify_all();  // a caller may have found the lock taken and gone to sleep
      }
      if (!armed) continue;
      // Sleep until woken, an fd event, or the next tick.
      const auto since_submit =
          now - Clock::time_point(Clock::duration(s.last_submit_ns.load()));
      std::chrono::nanoseconds sleep = since_submit < s.tuning.hot_period
                                           ? std::chrono::nanoseconds(s.tuning.hot_tick)
                                           : std::chrono::nanoseconds(s.tuning.idle_tick);
      if (next_eligible != Clock::time_point::max()) {
        auto until = next_eligible - now;
        if (until < sleep) sleep = std::max<std::chrono::nanoseconds>(until, std::chrono::microseconds(20));
      }
      s.sleeping_long.store(sleep > s.tuning.hot_tick);
      pollfd fds[2] = {{s.wake_fd, POLLIN, 0}, {s.hooks.event_fd, POLLIN, 0}};
      timespec ts{static_cast<time_t>(sleep.count() / 1000000000),
                  static_cast<long>(sleep.count() % 1000000000)};
      ::ppoll(fds, s.hooks.event_fd >= 0 ? 2 : 1, &ts, nullptr);
      s.sleeping_long.store(false);
      uint64_t drained;
      while (::read(s.wake_fd, &drained, sizeof(drained)) > 0) {
      }
    }
  });
}

ProgressEngine::~ProgressEngine() { Shutdown(); }

void ProgressEngine::Shutdown() {
  if (!thread_.joinable()) return;
  std::deque<std::shared_ptr<CpuWork>> left;
  {
    std::lock_guard<std::mutex> lk(state_->mu);
    state_->stop = true;
    left.swap(state_->queue);
  }
  state_->Wake();
  thread_.join();
  for (auto& w : left) {
    w->Finish(Aborted(std::string(w->op_) + " on group '" + state_->group +
                      "' aborted: the group was destroyed before it ran"));
  }
  state_->cv.notify_all();
  ::close(state_->wake_fd);
}

WorkPtr ProgressEngine::Submit(const char* op_name, size_t bytes, bool collective, OpFn fn) {
  auto w = std::make_shared<CpuWork>(state_, op_name, bytes, collective, std::move(fn));
  {
    std::lock_guard<std::mutex> lk(state_->mu);
    if (state_->stop) {
      return MakeCompletedWork(Aborted(std::string(op_name) + " on group '" + state_->group +
                                       "': the group is shut down"));
    }
    if (collective) w->seq_ = state_->next_seq++;
    state_->queue.push_back(w);
  }
  state_->last_submit_ns.store(w->submitted_.time_since_epoch().count(), std::memory_order_relaxed);
  if (bytes >= state_->tuning.wake_bytes || state_->sleeping_long.load()) state_->Wake();
  return w;
}

Status ProgressEngine::broken() const {
  std::lock_guard<std::mutex> lk(state_->mu);
  return state_->broken_status;
}

Status ProgressEngine::RunExclusive(const std::function<Status()>& fn) {
  std::lock_guard<std::mutex> lk(state_->exec_mu);
  return fn();
}

uint64_t ProgressEngine::collectives_started() const { return state_->started.load(); }

}  // namespace detail
}  // namespace ogai::comm
