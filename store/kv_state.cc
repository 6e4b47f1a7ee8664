// KvState: a sorted map of keys and a list of parked waiters.
#include "store/kv_state.h"

#include <algorithm>
#include <charconv>

#include "store/store.h"

namespace ogai::store {
namespace {

std::string JoinKeys(const std::vector<std::string>& keys) {
  std::string s;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) s += ", ";
    s += "'" + keys[i] + "'";
  }
  return s;
}

}  // namespace

Status KvState::Set(const std::string& key, const std::string& value, Answers* woken) {
  if (key.empty()) return InvalidArgument("empty key");
  data_[key] = value;
  Wake(woken);
  return Status::Ok();
}

Result<int64_t> KvState::Add(const std::string& key, int64_t delta, Answers* woken) {
  int64_t cur = 0;
  auto it = data_.find(key);
  if (it != data_.end()) {
    const std::string& v = it->second;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), cur);
    if (ec != std::errc() || p != v.data() + v.size()) {
      return InvalidArgument("key '" + key + "' does not hold an integer, cannot add to it");
    }
  }
  cur += delta;
  data_[key] = std::to_string(cur);
  Wake(woken);
  return cur;
}

std::string KvState::CompareSet(const std::string& key, const std::string& expected, const std::string& desired,
                                Answers* woken) {
  auto it = data_.find(key);
  std::string current = it == data_.end() ? std::string() : it->second;
  if (current != expected) return current;
  data_[key] = desired;
  Wake(woken);
  return desired;
}

bool KvState::Delete(const std::string& key) { return data_.erase(key) > 0; }

std::optional<std::string> KvState::TryGet(const std::string& key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> KvState::ListKeys(const std::string& prefix) const {
  std::vector<std::string> keys;
  for (auto it = data_.lower_bound(prefix); it != data_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    keys.push_back(it->first);
  }
  return keys;
}

std::optional<KvState::WaitAnswer> KvState::Park(WaitRequest req, TimePoint now) {
  if (Answerable(req)) return Answer(req);
  // Clamped: a huge timeout_ms (a peer's) must not overflow the deadline.
  req.timeout_ms = std::clamp<int64_t>(req.timeout_ms, 0, kMaxStoreTimeout.count());
  const auto deadline = now + std::chrono::milliseconds(req.timeout_ms);
  waiters_.push_back({std::move(req), deadline});
  return std::nullopt;
}

void KvState::Expire(TimePoint now, Answers* expired) {
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->deadline > now) {
      ++it;
      continue;
    }
    WaitAnswer a;
    a.owner = it->req.owner;
    a.tag = it->req.tag;
    for (const auto& k : it->req.keys) {
      if (data_.find(k) == data_.end()) a.missing.push_back(k);
    }
    a.status = Timeout("store wait timed out after " + std::to_string(it->req.timeout_ms) +
                       " ms; keys still missing: " + JoinKeys(a.missing));
    expired->push_back(std::move(a));
    it = waiters_.erase(it);
  }
}

void KvState::DropOwner(uint64_t owner) {
  waiters_.remove_if([owner](const Waiter& w) { return w.req.owner == owner; });
}

std::optional<KvState::TimePoint> KvState::NextDeadline() const {
  if (waiters_.empty()) return std::nullopt;
  auto next = TimePoint::max();
  for (const auto& w : waiters_) next = std::min(next, w.deadline);
  return next;
}

int KvState::WaiterCount() const { return static_cast<int>(waiters_.size()); }

bool KvState::Answerable(const WaitRequest& req) const {
  for (const auto& k : req.keys) {
    if (data_.find(k) == data_.end()) return false;
  }
  return true;
}

KvState::WaitAnswer KvState::Answer(const WaitRequest& req) const {
  WaitAnswer a;
  a.owner = req.owner;
  a.tag = req.tag;
  if (req.is_get) a.value = data_.at(req.keys[0]);
  return a;
}

void KvState::Wake(Answers* woken) {
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (Answerable(it->req)) {
      woken->push_back(Answer(it->req));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace ogai::store
