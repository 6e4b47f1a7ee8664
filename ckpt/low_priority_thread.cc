#include "ckpt/low_priority_thread.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/log.h"

namespace ogai::ckpt {
namespace {

// From linux/ioprio.h (not every libc has it).
constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassBestEffort = 2;
constexpr int kIoprioClassShift = 13;
constexpr int kLowestBestEffort = 7;

void LowerThisThread() {
  std::string failed;
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), kWriterNice) != 0) {
    failed += std::string(" nice ") + std::to_string(kWriterNice) + " (" + std::strerror(errno) + ")";
  }
#if defined(SYS_ioprio_set)
  if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0,
                (kIoprioClassBestEffort << kIoprioClassShift) | kLowestBestEffort) != 0) {
    failed += std::string(" I/O priority best-effort 7 (") + std::strerror(errno) + ")";
  }
#endif
  if (!failed.empty()) {
    OGAI_LOG(Info) << "checkpoint: the writer's background thread keeps its priority: could not set" << failed;
  }
}

}  // namespace

LowPriorityThread::LowPriorityThread() : thread_([this] { Main(); }) {}

LowPriorityThread::~LowPriorityThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void LowPriorityThread::Run(const std::function<void()>& fn) {
  std::unique_lock<std::mutex> lock(mu_);
  fn_ = &fn;
  done_ = false;
  cv_.notify_all();
  cv_.wait(lock, [&] { return done_; });
}

void LowPriorityThread::Main() {
  LowerThisThread();
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || fn_ != nullptr; });
    if (fn_ == nullptr) return;
    const std::function<void()>* fn = fn_;
    lock.unlock();
    (*fn)();
    lock.lock();
    fn_ = nullptr;
    done_ = true;
    cv_.notify_all();
  }
}

}  // namespace ogai::ckpt
