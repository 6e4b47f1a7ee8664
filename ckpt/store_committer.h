// StoreCommitter: the Committer protocol (committer.h) over the job's store, for ranks that
// are separate processes. Keys (under the store's prefix, which carries the restart round):
//   ckpt/<step>/prepared     "OK" or "FAILED: <message>"            (rank 0)
//   ckpt/<step>/vote/<rank>  serialized ShardIndex or "FAILED: ..."  (every rank)
//   ckpt/<step>/decision     "OK" or "FAILED: <message>"            (rank 0)
// Every wait uses the timeout given (parallel.timeout_s); a rank that never votes makes
// rank 0's Vote fail naming it. Rank 0 deletes a step's votes once it has decided; the
// prepared and decision keys stay (two small keys per save, in the round's prefix), so the
// same step committed twice in one round would read the first commit's: training never does
// that (tests/ckpt/zero_staging_test.cc, which does, deletes them first).
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
};

}  // namespace ogai::ckpt
