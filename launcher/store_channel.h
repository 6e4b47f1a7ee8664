// Store helpers for the launcher and its agents: an ordered reader of sequenced keys (the
// command and event channels of protocol.h) and the cross-node PMIx fence.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace ogai::launch {

// Reads <prefix><seq> for seq = start, start+1, ... on its own thread, blocking on each key
// in turn, and hands every value to `on_value` (called on that thread). A key that stays
// missing while later ones exist (its writer died between numbering and writing) is
// skipped after a few seconds. A store error ends the reader and is passed to `on_error`.
class SequenceReader {
 public:
  SequenceReader(std::shared_ptr<store::Store> store, std::string prefix, std::string next_key, int64_t start,
                 std::function<void(int64_t, std::string)> on_value, std::function<void(Status)> on_error);
  ~SequenceReader();
  void Stop();

 private:
  void Run(int64_t seq);
  std::shared_ptr<store::Store> store_;
  std::string prefix_, next_key_;
  std::function<void(int64_t, std::string)> on_value_;
  std::function<void(Status)> on_error_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Completes PMIx fences that span nodes: each node writes its share under
// agent/fence/<id>/<node>, waits for every participant's share and concatenates them in node
// order. Each fence runs on its own short-lived thread; the destructor cancels and joins them.
class StoreFence {
 public:
  StoreFence(std::shared_ptr<store::Store> store, int my_node);
  ~StoreFence();
  void Run(const std::string& fence_id, const std::vector<int>& nodes, std::string local,
           std::function<void(bool, std::string)> done);
  void SetNode(int my_node) { my_node_ = my_node; }

 private:
  std::shared_ptr<store::Store> store_;
  std::atomic<int> my_node_;
  std::atomic<bool> cancel_{false};
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

}  // namespace ogai::launch
