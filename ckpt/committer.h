// Committer: how the ranks of a job agree that a checkpoint is whole.
//
// Before anything is written, rank 0 prepares the step directory (removing what an earlier
// attempt at the same step left there) and calls BeginSave() with the outcome; the other
// ranks call BeginSave() too and wait for it, so no rank writes into a directory that is
// about to be cleaned. After its shard file is durable (written and fsynced), or after its save failed, every
// rank calls Vote() exactly once for the step. Rank 0, the rank that writes the manifest,
// gets back every rank's ShardIndex (ordered by rank) once all have voted; Vote fails on
// rank 0 when any rank voted a failure or did not vote in time. Other ranks get an empty
// list as soon as their vote is posted. Rank 0 then writes the manifest (or gives up) and
// calls Decide() with the outcome; every other rank calls Decide() too and waits for rank
// 0's outcome, so that all ranks return the same Status from the save.
//
// Implementations: LocalCommitter (one rank) and ThreadGroupCommitter (N ranks that are
// threads of one process: tests, and tools that reshard in one process). The store-based
// committer for multi-process jobs follows the same protocol with the keys
//   ckpt/<step>/prepared     = "OK" or "FAILED: <message>"
//   ckpt/<step>/vote/<rank>  = serialized ShardIndex, or "FAILED: <message>"
//   ckpt/<step>/decision     = "OK" or "FAILED: <message>"
// (rank 0 waits on every vote key with the collective timeout; the others wait on the
// prepared and decision keys). Keys must be unique per job incarnation (prefix them with
// the restart count) so that a restarted job never reads an old vote.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/status.h"
#include "proto/ckpt.pb.h"

namespace ogai::ckpt {

class Committer {
 public:
  virtual ~Committer() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual Status BeginSave(int64_t step, const Status& prepared) = 0;
  virtual Result<std::vector<pb::ShardIndex>> Vote(int64_t step, const pb::ShardIndex& mine, const Status& local) = 0;
  virtual Status Decide(int64_t step, const Status& outcome) = 0;
};

// A job of one rank: the vote is the rank's own index.
class LocalCommitter final : public Committer {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  Status BeginSave(int64_t step, const Status& prepared) override;
  Result<std::vector<pb::ShardIndex>> Vote(int64_t step, const pb::ShardIndex& mine, const Status& local) override;
  Status Decide(int64_t step, const Status& outcome) override;
};

// N ranks in one process. Create one Group, then one committer per rank.
class ThreadGroupCommitter final : public Committer {
 public:
  class Group {
   public:
    Group(int world_size, std::chrono::milliseconds timeout);

   private:
    friend class ThreadGroupCommitter;
    struct Round {
      std::map<int, pb::ShardIndex> votes;
      std::vector<std::string> failures;
      int voted = 0;
      bool prepared = false;
      Status prepare_status;
      bool decided = false;
      Status decision;
    };
    int world_size_;
    std::chrono::milliseconds timeout_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::map<int64_t, Round> rounds_;
  };

  ThreadGroupCommitter(std::shared_ptr<Group> group, int rank);
  int rank() const override { return rank_; }
  int world_size() const override { return group_->world_size_; }
  Status BeginSave(int64_t step, const Status& prepared) override;
  Result<std::vector<pb::ShardIndex>> Vote(int64_t step, const pb::ShardIndex& mine, const Status& local) override;
  Status Decide(int64_t step, const Status& outcome) override;

 private:
  std::shared_ptr<Group> group_;
  int rank_;
};

}  // namespace ogai::ckpt
