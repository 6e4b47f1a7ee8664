#include "ckpt/committer.h"

namespace ogai::ckpt {

Status LocalCommitter::BeginSave(int64_t, const Status& prepared) { return prepared; }

Result<std::vector<pb::ShardIndex>> LocalCommitter::Vote(int64_t, const pb::ShardIndex& mine, const Status& local) {
  if (!local.ok()) return local;
  return std::vector<pb::ShardIndex>{mine};
}

Status LocalCommitter::Decide(int64_t, const Status& outcome) { return outcome; }

ThreadGroupCommitter::Group::Group(int world_size, std::chrono::milliseconds timeout)
    : world_size_(world_size), timeout_(timeout) {}

ThreadGroupCommitter::ThreadGroupCommitter(std::shared_ptr<Group> group, int rank)
    : group_(std::move(group)), rank_(rank) {}

Status ThreadGroupCommitter::BeginSave(int64_t step, const Status& prepared) {
  Group& g = *group_;
  std::unique_lock<std::mutex> lock(g.mu_);
  Group::Round& round = g.rounds_[step];
  if (rank_ == 0) {
    round.prepared = true;
    round.prepare_status = prepared;
    g.cv_.notify_all();
    return prepared;
  }
  if (!g.cv_.wait_for(lock, g.timeout_, [&] { return round.prepared; })) {
    return Timeout("checkpoint step " + std::to_string(step) + ": rank 0 did not prepare the step directory within " +
                   std::to_string(g.timeout_.count()) + " ms");
  }
  return round.prepare_status;
}

Result<std::vector<pb::ShardIndex>> ThreadGroupCommitter::Vote(int64_t step, const pb::ShardIndex& mine,
                                                               const Status& local) {
  Group& g = *group_;
  std::unique_lock<std::mutex> lock(g.mu_);
  Group::Round& round = g.rounds_[step];
  if (local.ok()) {
    round.votes[rank_] = mine;
  } else {
    round.failures.push_back("rank " + std::to_string(rank_) + ": " + local.ToString());
  }
  ++round.voted;
  g.cv_.notify_all();
  if (rank_ != 0) return std::vector<pb::ShardIndex>{};
  const bool all = g.cv_.wait_for(lock, g.timeout_, [&] { return round.voted == g.world_size_; });
  if (!all) {
    std::string missing;
    for (int r = 0; r < g.world_size_; ++r) {
      if (round.votes.count(r) == 0) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    }
    return Timeout("checkpoint step " + std::to_string(step) + ": ranks " + missing +
                   " did not report their shard within " + std::to_string(g.timeout_.count()) + " ms");
  }
  if (!round.failures.empty()) {
    std::string msg;
    for (const auto& f : round.failures) msg += (msg.empty() ? "" : "; ") + f;
    return Aborted("checkpoint step " + std::to_string(step) + " not committed: " + msg);
  }
  std::vector<pb::ShardIndex> out;
  for (auto& [r, idx] : round.votes) out.push_back(idx);
  return out;
}

Status ThreadGroupCommitter::Decide(int64_t step, const Status& outcome) {
  Group& g = *group_;
  std::unique_lock<std::mutex> lock(g.mu_);
  Group::Round& round = g.rounds_[step];
  if (rank_ == 0) {
    round.decided = true;
    round.decision = outcome;
    // Every rank has voted in this round, so every earlier round is over for all ranks.
    g.rounds_.erase(g.rounds_.begin(), g.rounds_.find(step));
    g.cv_.notify_all();
    return outcome;
  }
  if (!g.cv_.wait_for(lock, g.timeout_, [&] { return round.decided; })) {
    return Timeout("checkpoint step " + std::to_string(step) + ": rank 0 did not announce the commit within " +
                   std::to_string(g.timeout_.count()) + " ms");
  }
  return round.decision;
}

}  // namespace ogai::ckpt
