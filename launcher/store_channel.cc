#include "launcher/store_channel.h"

#include <chrono>
#include <cstdlib>

#include "core/log.h"

namespace ogai::launch {

using std::chrono::milliseconds;

SequenceReader::SequenceReader(std::shared_ptr<store::Store> store, std::string prefix, std::string next_key,
                               int64_t start, std::function<void(int64_t, std::string)> on_value,
                               std::function<void(Status)> on_error)
    : store_(std::move(store)),
      prefix_(std::move(prefix)),
      next_key_(std::move(next_key)),
      on_value_(std::move(on_value)),
      on_error_(std::move(on_error)) {
  thread_ = std::thread([this, start] { Run(start); });
}

SequenceReader::~SequenceReader() { Stop(); }

void SequenceReader::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void SequenceReader::Run(int64_t seq) {
  int missing_rounds = 0;
  while (!stop_) {
    auto v = store_->Get(prefix_ + std::to_string(seq), milliseconds(200));
    if (v.ok()) {
      on_value_(seq, std::move(v).value());
      ++seq;
      missing_rounds = 0;
      continue;
    }
    if (v.status().code() != Code::kTimeout) {
      if (!stop_) on_error_(v.status());
      return;
    }
    // Skip a number whose writer died before writing it, once later numbers exist.
    if (++missing_rounds >= 15) {
      auto next = store_->TryGet(next_key_);
      if (next.ok() && next->has_value() && std::atoll((*next)->c_str()) > seq + 1) {
        OGAI_LOG(Warn) << "skipping " << prefix_ << seq << ", which was never written";
        ++seq;
      }
      missing_rounds = 0;
    }
  }
}

StoreFence::StoreFence(std::shared_ptr<store::Store> store, int my_node)
    : store_(std::move(store)), my_node_(my_node) {}

StoreFence::~StoreFence() {
  cancel_ = true;
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void StoreFence::Run(const std::string& fence_id, const std::vector<int>& nodes, std::string local,
                     std::function<void(bool, std::string)> done) {
  std::lock_guard<std::mutex> lk(mu_);
  int me = my_node_;
  threads_.emplace_back([this, fence_id, nodes, me, local = std::move(local), done = std::move(done)]() {
    auto key = [&](int n) { return "agent/fence/" + fence_id + "/" + std::to_string(n); };
    Status st = store_->Set(key(me), local);
    std::vector<std::string> keys;
    for (int n : nodes) keys.push_back(key(n));
    // Bounded: a fence that does not complete in 10 minutes fails (the job is stopped long
    // before that when a node dies).
    bool complete = false;
    for (int i = 0; st.ok() && !cancel_ && i < 3000; ++i) {
      Status w = store_->Wait(keys, milliseconds(200));
      if (w.ok()) {
        complete = true;
        break;
      }
      if (w.code() != Code::kTimeout) st = w;
    }
    if (!complete && st.ok()) {
      st = cancel_ ? Aborted("fence " + fence_id + " cancelled")
                   : Timeout("PMIx fence " + fence_id + " did not complete in 600 s");
    }
    std::string all;
    for (size_t i = 0; st.ok() && i < keys.size(); ++i) {
      auto v = store_->Get(keys[i], milliseconds(1000));
      if (!v.ok()) {
        st = v.status();
        break;
      }
      all += *v;
    }
    if (!st.ok()) {
      OGAI_LOG(Error) << "PMIx fence over the store failed: " << st.ToString();
    }
    done(st.ok(), st.ok() ? all : std::string());
  });
}

}  // namespace ogai::launch
