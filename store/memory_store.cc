// MemoryStore: a KvState under a mutex; blocked callers sleep on one condition variable.
#include "store/memory_store.h"

#include <algorithm>
#include <utility>

namespace ogai::store {

using Clock = KvState::TimePoint::clock;

MemoryStore::MemoryStore() = default;
MemoryStore::~MemoryStore() = default;

Status MemoryStore::Set(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lk(mu_);
  KvState::Answers woken;
  Status st = state_.Set(key, value, &woken);
  Post(std::move(woken));
  return st;
}

Result<std::string> MemoryStore::Get(const std::string& key, std::chrono::milliseconds timeout) {
  KvState::WaitAnswer a = Block({key}, /*is_get=*/true, timeout);
  if (!a.status.ok()) return a.status;
  return std::move(a.value);
}

Result<int64_t> MemoryStore::Add(const std::string& key, int64_t delta) {
  std::lock_guard<std::mutex> lk(mu_);
  KvState::Answers woken;
  Result<int64_t> sum = state_.Add(key, delta, &woken);
  Post(std::move(woken));
  return sum;
}

Result<std::string> MemoryStore::CompareSet(const std::string& key, const std::string& expected,
                                            const std::string& desired) {
  std::lock_guard<std::mutex> lk(mu_);
  KvState::Answers woken;
  std::string now = state_.CompareSet(key, expected, desired, &woken);
  Post(std::move(woken));
  return now;
}

Status MemoryStore::Wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
  if (keys.empty()) return Status::Ok();
  return Block(keys, /*is_get=*/false, timeout).status;
}

Result<bool> MemoryStore::Delete(const std::string& key) {
  std::lock_guard<std::mutex> lk(mu_);
  return state_.Delete(key);
}

Result<std::optional<std::string>> MemoryStore::TryGet(const std::string& key) {
  std::lock_guard<std::mutex> lk(mu_);
  return state_.TryGet(key);
}

Result<std::vector<std::string>> MemoryStore::ListKeys(const std::string& prefix) {
  std::lock_guard<std::mutex> lk(mu_);
  return state_.ListKeys(prefix);
}

int MemoryStore::WaiterCount() const {
  std::lock_guard<std::mutex> lk(mu_);
  return state_.WaiterCount();
}

KvState::WaitAnswer MemoryStore::Block(std::vector<std::string> keys, bool is_get, std::chrono::milliseconds timeout) {
  timeout = std::clamp(timeout, std::chrono::milliseconds(0), kMaxStoreTimeout);
  std::unique_lock<std::mutex> lk(mu_);
  KvState::WaitRequest req;
  req.tag = next_tag_++;
  req.keys = std::move(keys);
  req.is_get = is_get;
  req.timeout_ms = timeout.count();
  const uint64_t tag = req.tag;
  const auto start = Clock::now();
  std::optional<KvState::WaitAnswer> at_once = state_.Park(std::move(req), start);
  if (at_once) return std::move(*at_once);
  // The same deadline the state computed; at it, Expire() answers this waiter.
  const auto deadline = start + std::max(timeout, std::chrono::milliseconds(0));
  for (;;) {
    auto it = answered_.find(tag);
    if (it != answered_.end()) {
      KvState::WaitAnswer a = std::move(it->second);
      answered_.erase(it);
      return a;
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      KvState::Answers expired;
      state_.Expire(now, &expired);
      Post(std::move(expired));
      continue;
    }
    cv_.wait_until(lk, deadline);
  }
}

void MemoryStore::Post(KvState::Answers answers) {
  if (answers.empty()) return;
  for (auto& a : answers) {
    const uint64_t tag = a.tag;
    answered_.emplace(tag, std::move(a));
  }
  cv_.notify_all();
}

}  // namespace ogai::store
