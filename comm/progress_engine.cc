#include "comm/progress_engine.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "core/knobs.h"
#include "core/log.h"

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

EngineTuning EngineTuning::FromEnv() {
  EngineTuning t;
  if (auto v = KnobInt("OGAI_COMM_WAKE_BYTES")) t.wake_bytes = static_cast<size_t>(*v);
  return t;
}

class CpuWork;

constexpr int kDriver = 1 << 16;

// Guards the queue: held for a few instructions at a time, and cheaper than a mutex on the
// path every small operation takes (unlock is a plain store). Yields if the holder was
// preempted.
class SpinLock {
 public:
  void lock() {
    while (f_.exchange(true, std::memory_order_acquire)) {
      for (int i = 0; f_.load(std::memory_order_relaxed); ++i) {
        if (i < 64) {
#if defined(__x86_64__) || defined(__i386__)
          __builtin_ia32_pause();
#endif
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  void unlock() { f_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> f_{false};
};

struct ProgressEngine::State {
  std::string group;
  std::chrono::milliseconds timeout;
  EngineHooks hooks;
  EngineTuning tuning;
  int wake_fd = -1;

  std::mutex exec_mu;  // held by whoever runs operations
  SpinLock qmu;        // guards queue, broken_status, stop, next_seq, first_seen_
  std::mutex mu;       // for cv only (a thread that sleeps until an operation is done)
  std::condition_variable cv;
  std::deque<std::shared_ptr<CpuWork>> queue;
  Status broken_status;
  bool stop = false;
  uint64_t next_seq = 0;              // under mu
  std::atomic<uint64_t> exec_gen{0};  // bumped each time exec_mu is released
  std::atomic<int> cv_sleepers{0};    // threads inside cv.wait (registered under mu)
  // Callers blocked in Wait() (low 16 bits, see OpContext::hot) plus kDriver for each of
  // them that runs queued operations itself: one atomic, so Wait() pays one locked add.
  std::atomic<int> waiters{0};
  int drivers() const { return waiters.load(std::memory_order_seq_cst) / kDriver; }
  std::atomic<size_t> queued{0};  // queue.size(), written under mu
  std::atomic<uint64_t> started{0};

  void Wake() {
    uint64_t one = 1;
    ssize_t w = ::write(wake_fd, &one, sizeof(one));
    (void)w;
  }
  void ReleaseExec() {
    exec_mu.unlock();
    exec_gen.fetch_add(1, std::memory_order_seq_cst);
    NotifySleepers();
  }
  // After a state change a sleeper waits for (done_, exec_gen), stored seq_cst: a sleeper
  // registers itself (seq_cst) before it checks, so either it sees the change or we see it
  // and take mu, which it holds until it is inside cv.wait. Without sleepers (the usual
  // case: the caller runs its own operation) this costs one load.
  void NotifySleepers() {
    if (cv_sleepers.load(std::memory_order_seq_cst) == 0) return;
    { std::lock_guard<std::mutex> lk(mu); }
    cv.notify_all();
  }
  // Runs queued operations with exec_mu held: on a caller, up to and including `until`; on
  // the progress thread, until the queue is empty or a caller wants to drive.
  void RunQueued(bool on_caller_thread, const CpuWork* until);
};

class CpuWork final : public Work {
 public:
  CpuWork(std::shared_ptr<ProgressEngine::State> st, const char* op, size_t bytes, bool collective, OpFn fn)
      : state_(std::move(st)),
        op_(op),
        bytes_(bytes),
        collective_(collective),
        fn_(std::move(fn)),
        large_(bytes >= state_->tuning.wake_bytes) {}

  Status Wait(std::chrono::milliseconds timeout) override {
    if (done_.load(std::memory_order_acquire)) return status_;
    ProgressEngine::State& s = *state_;
    // Only a caller that waits for as long as it takes runs operations: a bounded Wait must
    // be able to return while the operation runs on.
    const bool drive = timeout >= std::chrono::hours(24 * 365);
    const auto deadline = drive ? Clock::time_point::max() : Clock::now() + timeout;
    const int mine = 1 + (drive ? kDriver : 0);
    s.waiters.fetch_add(mine, std::memory_order_seq_cst);
    // A bounded wait does not run operations: make sure the thread looks at the queue.
    if (!drive && !started_.load(std::memory_order_acquire)) s.Wake();
    Status result;
    for (;;) {
      const uint64_t gen = s.exec_gen.load(std::memory_order_acquire);
      if (done_.load(std::memory_order_acquire)) {
        result = status_;
        break;
      }
      if (drive && !started_.load(std::memory_order_acquire) && s.exec_mu.try_lock()) {
        s.RunQueued(/*on_caller_thread=*/true, this);
        s.ReleaseExec();
        continue;
      }
      if (Clock::now() >= deadline) {
        result = Timeout(std::string(op_) + " on group '" + s.group + "' still running after " +
                         std::to_string(timeout.count()) + " ms of Wait");
        break;
      }
      // Running elsewhere: sleep until it is done, or (when driving) until the thread that
      // holds the execution lock lets go of it.
      std::unique_lock<std::mutex> lk(s.mu);
      s.cv_sleepers.fetch_add(1, std::memory_order_seq_cst);
      auto pred = [&] {
        return done_.load(std::memory_order_seq_cst) || (drive && s.exec_gen.load(std::memory_order_seq_cst) != gen);
      };
      if (drive) {
        s.cv.wait(lk, pred);
      } else {
        s.cv.wait_until(lk, deadline, pred);
      }
      s.cv_sleepers.fetch_sub(1, std::memory_order_relaxed);
    }
    const int before = s.waiters.fetch_sub(mine, std::memory_order_seq_cst);
    if (drive && before / kDriver == 1 && s.queued.load(std::memory_order_seq_cst) > 0) {
      // The thread left the queue alone while we drove; operations submitted meanwhile
      // may be its to run now.
      s.Wake();
    }
    return result;
  }

  bool Test() override { return done_.load(std::memory_order_acquire); }
  void Abort() override { abort_.store(true); }
  Status status() const override { return done_.load(std::memory_order_acquire) ? status_ : Status::Ok(); }

  // Runs the operation on the current thread (exec_mu held). `broken` is the group's
  // failure when it was taken off the queue.
  void Run(bool on_caller_thread, const Status& broken) {
    Status st;
    if (!broken.ok()) {
      st = Aborted(std::string(op_) + " on group '" + state_->group +
                   "' not run: the group is unusable after an earlier failure: " + broken.message());
    }
    if (st.ok() && abort_.load()) {
      st = Aborted(std::string(op_) + " on group '" + state_->group + "' aborted before it started");
    }
    if (st.ok()) {
      OpContext ctx;
      ctx.timeout = state_->timeout;
      ctx.abort = &abort_;
      ctx.on_caller_thread = on_caller_thread;
      ctx.waiters = &state_->waiters;
      ctx.seq = seq_;
      // Only the thread holding exec_mu writes it: no locked add needed.
      if (collective_)
        state_->started.store(state_->started.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      st = fn_(ctx);
    }
    Finish(std::move(st));
  }

  void Finish(Status st) {
    if (!st.ok()) {
      std::lock_guard<SpinLock> lk(state_->qmu);
      if (state_->broken_status.ok()) state_->broken_status = st;
    }
    status_ = std::move(st);
    fn_ = nullptr;  // drop captured buffers
    done_.store(true, std::memory_order_seq_cst);
    state_->NotifySleepers();
  }

  std::atomic<bool> abort_{false};
  std::shared_ptr<ProgressEngine::State> state_;
  const char* op_;
  size_t bytes_;
  bool collective_;
  OpFn fn_;
  bool large_;                      // at least wake_bytes: the thread takes it at once
  Clock::time_point first_seen_{};  // by the progress thread, at the queue's front (under qmu)
  uint64_t seq_ = 0;
  std::atomic<bool> started_{false};
  std::atomic<bool> done_{false};
  Status status_;
};

void ProgressEngine::State::RunQueued(bool on_caller_thread, const CpuWork* until) {
  for (;;) {
    std::shared_ptr<CpuWork> w;
    Status broken;
    {
      std::lock_guard<SpinLock> lk(qmu);
      if (queue.empty()) return;
      if (!on_caller_thread && drivers() > 0) return;
      w = std::move(queue.front());
      queue.pop_front();
      queued.store(queue.size(), std::memory_order_relaxed);
      w->started_.store(true, std::memory_order_release);
      if (!broken_status.ok()) broken = broken_status;
    }
    w->Run(on_caller_thread, broken);
    if (w.get() == until) return;
  }
}

ProgressEngine::ProgressEngine(std::string group_name, std::chrono::milliseconds timeout, EngineHooks hooks,
                               EngineTuning tuning)
    : state_(std::make_shared<State>()) {
  state_->group = std::move(group_name);
  state_->timeout = timeout;
  state_->hooks = std::move(hooks);
  state_->tuning = tuning;
  state_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  auto st = state_;
  thread_ = std::thread([st] {
    auto& s = *st;
    auto last_poll = Clock::now();
    // The timer: short while the thread finds operations to claim (the program starts
    // small ones without waiting), backing off to idle_tick while it finds none (a program
    // that waits at once drives everything itself and should not be interrupted).
    std::chrono::nanoseconds tick = s.tuning.hot_tick;
    for (;;) {
      const auto now = Clock::now();
      // Is there an operation the thread should run? (Small ones only once they have sat
      // at the front for claim_delay: Submit does not read the clock.)
      Clock::time_point next_eligible = Clock::time_point::max();
      {
        std::lock_guard<SpinLock> lk(s.qmu);
        if (s.stop) return;
        if (!s.queue.empty() && s.drivers() == 0) {
          auto& w = *s.queue.front();
          if (w.first_seen_ == Clock::time_point{}) w.first_seen_ = now;
          next_eligible = w.large_ ? now : w.first_seen_ + s.tuning.claim_delay;
        }
      }
      if (next_eligible <= now) {
        if (s.exec_mu.try_lock()) {
          s.RunQueued(false, nullptr);
          s.ReleaseExec();
          tick = s.tuning.hot_tick;
          continue;
        }
        // A caller is running operations; look again at the next tick.
        next_eligible = now + tick;
      }
      if (s.hooks.poll && now - last_poll >= s.tuning.idle_tick) {
        s.hooks.poll();
        last_poll = Clock::now();
      }
      // Sleep until woken, the next claim, or the next tick.
      std::chrono::nanoseconds sleep = tick;
      if (next_eligible == Clock::time_point::max()) {
        tick = std::min<std::chrono::nanoseconds>(tick * 2, s.tuning.idle_tick);
      } else if (next_eligible - now < sleep) {
        sleep = std::max<std::chrono::nanoseconds>(next_eligible - now, std::chrono::microseconds(20));
      }
      pollfd fd{s.wake_fd, POLLIN, 0};
      timespec ts{static_cast<time_t>(sleep.count() / 1000000000), static_cast<long>(sleep.count() % 1000000000)};
      ::ppoll(&fd, 1, &ts, nullptr);
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
    std::lock_guard<SpinLock> lk(state_->qmu);
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
    std::lock_guard<SpinLock> lk(state_->qmu);
    if (state_->stop) {
      return MakeCompletedWork(
          Aborted(std::string(op_name) + " on group '" + state_->group + "': the group is shut down"));
    }
    if (collective) w->seq_ = state_->next_seq++;
    state_->queue.push_back(w);
    state_->queued.store(state_->queue.size(), std::memory_order_relaxed);
  }
  // Small operations are left to a caller that waits (or to the thread's next tick).
  if (w->large_) state_->Wake();
  return w;
}

Status ProgressEngine::broken() const {
  std::lock_guard<SpinLock> lk(state_->qmu);
  return state_->broken_status;
}

Status ProgressEngine::RunExclusive(const std::function<Status()>& fn) {
  std::lock_guard<std::mutex> lk(state_->exec_mu);
  return fn();
}

uint64_t ProgressEngine::collectives_started() const { return state_->started.load(); }

}  // namespace detail
}  // namespace ogai::comm
