#include "ckpt/store_committer.h"

namespace ogai::ckpt {
namespace {
constexpr const char* kFailed = "FAILED: ";
Status FromWire(const std::string& v, const std::string& who) {
  if (v == "OK") return Status::Ok();
  if (v.rfind(kFailed, 0) == 0) return Aborted(who + ": " + v.substr(8));
  return Corruption(who + ": unexpected value in the store");
}
std::string ToWire(const Status& st) { return st.ok() ? std::string("OK") : kFailed + st.message(); }
}  // namespace

StoreCommitter::StoreCommitter(std::shared_ptr<store::Store> store, int rank, int world_size,
                               std::chrono::milliseconds timeout)
    : store_(std::move(store)), rank_(rank), world_(world_size), timeout_(timeout) {}

std::string StoreCommitter::Key(int64_t step, const std::string& what) const {
  return "ckpt/" + std::to_string(step) + (attempt_ > 0 ? "." + std::to_string(attempt_) : "") + "/" + what;
}

Status StoreCommitter::BeginSave(int64_t step, const Status& prepared) {
  attempt_ = step == step_ ? attempt_ + 1 : 0;
  step_ = step;
  all_voted_ = false;
  if (rank_ == 0) {
    OGAI_RETURN_IF_ERROR(store_->Set(Key(step, "prepared"), ToWire(prepared)));
    return prepared;
  }
  auto v = store_->Get(Key(step, "prepared"), timeout_);
  if (!v.ok()) return v.status().WithContext("waiting for rank 0 to prepare checkpoint step " + std::to_string(step));
  return FromWire(*v, "rank 0 could not prepare checkpoint step " + std::to_string(step));
}

Result<std::vector<pb::ShardIndex>> StoreCommitter::Vote(int64_t step, const pb::ShardIndex& mine,
                                                         const Status& local) {
  std::string value = local.ok() ? mine.SerializeAsString() : kFailed + local.message();
  OGAI_RETURN_IF_ERROR(store_->Set(Key(step, "vote/" + std::to_string(rank_)), value));
  if (rank_ != 0) return std::vector<pb::ShardIndex>{};
  std::vector<std::string> keys;
  for (int r = 0; r < world_; ++r) keys.push_back(Key(step, "vote/" + std::to_string(r)));
  Status waited = store_->Wait(keys, timeout_);
  if (!waited.ok())
    return waited.WithContext("collecting the ranks' votes for checkpoint step " + std::to_string(step));
  all_voted_ = true;
  std::vector<pb::ShardIndex> out(world_);
  std::string failures;
  for (int r = 0; r < world_; ++r) {
    auto got = store_->Get(keys[r], timeout_);
    if (!got.ok()) return got.status();
    const std::string& v = *got;
    if (v.rfind(kFailed, 0) == 0) {
      failures += (failures.empty() ? "" : "; ") + std::string("rank ") + std::to_string(r) + ": " + v.substr(8);
    } else if (!out[r].ParseFromString(v)) {
      failures += (failures.empty() ? "" : "; ") + std::string("rank ") + std::to_string(r) + ": unreadable vote";
    }
  }
  if (!failures.empty()) return Aborted("checkpoint step " + std::to_string(step) + " failed on " + failures);
  return out;
}

Status StoreCommitter::Decide(int64_t step, const Status& outcome) {
  if (rank_ == 0) {
    OGAI_RETURN_IF_ERROR(store_->Set(Key(step, "decision"), ToWire(outcome)));
    for (int r = 0; r < world_; ++r) (void)store_->Delete(Key(step, "vote/" + std::to_string(r)));
    // Every rank voted, so each has read this save's prepared key and the last save's decision.
    if (all_voted_) {
      (void)store_->Delete(Key(step, "prepared"));
      if (!previous_decision_.empty()) (void)store_->Delete(previous_decision_);
    }
    previous_decision_ = Key(step, "decision");
    return outcome;
  }
  auto v = store_->Get(Key(step, "decision"), timeout_);
  if (!v.ok()) return v.status().WithContext("waiting for rank 0's commit decision on step " + std::to_string(step));
  return FromWire(*v, "checkpoint step " + std::to_string(step) + " was not committed");
}

}  // namespace ogai::ckpt
