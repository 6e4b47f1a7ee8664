// StoreCommitter: the Committer protocol (committer.h) over the job's store, for ranks that
// are separate processes. Keys (under the store's prefix, which carries the restart round):
//   ckpt/<step>/prepared     "OK" or "FAILED: <message>"            (rank 0)
//   ckpt/<step>/vote/<rank>  serialized ShardIndex or "FAILED: ..."  (every rank)
//   ckpt/<step>/decision     "OK" or "FAILED: <message>"            (rank 0)
// A second commit of the same step in one round (a synchronous save after a periodic one) uses
// ckpt/<step>.<n>/..., so it never reads the first one's keys. Every wait uses the timeout
// given (parallel.timeout_s); a rank that never votes makes rank 0's Vote fail naming it.
// Rank 0 deletes a save's votes and its prepared key once every rank has voted, and the
// previous save's decision then too (every rank read it before it voted again): the store
// holds one decision between saves.
#pragma once

#include <chrono>
#include <memory>

#include "ckpt/committer.h"
#include "store/store.h"

namespace ogai::ckpt {

class StoreCommitter final : public Committer {
 public:
  StoreCommitter(std::shared_ptr<store::Store> store, int rank, int world_size, std::chrono::milliseconds timeout);
  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  Status BeginSave(int64_t step, const Status& prepared) override;
  Result<std::vector<pb::ShardIndex>> Vote(int64_t step, const pb::ShardIndex& mine, const Status& local) override;
  Status Decide(int64_t step, const Status& outcome) override;

 private:
  std::string Key(int64_t step, const std::string& what) const;
  std::shared_ptr<store::Store> store_;
  int rank_, world_;
  std::chrono::milliseconds timeout_;
  int64_t step_ = -1;              // the save under way (BeginSave's step)
  int attempt_ = 0;                // its commits before this one in this round
  bool all_voted_ = false;         // rank 0: every rank's vote of this save arrived
  std::string previous_decision_;  // rank 0: the last save's decision key, deleted once all vote again
};

}  // namespace ogai::ckpt
