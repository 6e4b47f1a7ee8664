#include "parallel/grad_reducer.h"

#include <chrono>
#include <cstring>

#include "core/clock.h"
#include "core/profile.h"

namespace ogai::parallel {
GradReducer::GradReducer(comm::ProcessGroup* dp, BucketPlan plan, float* grads, bool zero, bool overlap)
    : dp_(dp), plan_(std::move(plan)), grads_(grads), zero_(zero), overlap_(overlap) {
  deferred_.assign(plan_.bucket_of.size(), false);
  launched_.assign(plan_.buckets.size(), false);
  work_.resize(plan_.buckets.size());
  scratch_.resize(plan_.buckets.size());
  const int n = dp_->size();
  if (zero_) {
    for (size_t b = 0; b < plan_.buckets.size(); ++b) {
      if (plan_.buckets[b].size() % n != 0) {
        const int64_t chunk = (plan_.buckets[b].size() + n - 1) / n;
        scratch_[b] = Buffer(static_cast<size_t>(chunk * n) * sizeof(float), MemCategory::kComm);
      }
    }
  }
}

void GradReducer::Arm() {
  armed_ = true;
  pending_.assign(plan_.buckets.size(), 0);
  for (size_t p = 0; p < plan_.bucket_of.size(); ++p) pending_[plan_.bucket_of[p]]++;
  std::fill(launched_.begin(), launched_.end(), false);
  for (auto& w : work_) w.reset();
}

void GradReducer::Defer(int param) { deferred_[param] = true; }

void GradReducer::OnGradReady(int param) {
  if (!armed_ || deferred_[param]) return;
  MarkReady(param);
}

void GradReducer::MarkReady(int param) {
  if (!armed_) return;
  const int b = plan_.bucket_of[param];
  if (--pending_[b] == 0 && overlap_) {
    Launch(b);
    stats_.buckets_early++;
  }
}

void GradReducer::Launch(int b) {
  if (launched_[b]) return;
  launched_[b] = true;
  const Bucket& bk = plan_.buckets[b];
  float* base = grads_ + bk.begin;
  stats_.bytes += bk.size() * static_cast<int64_t>(sizeof(float));
  if (!zero_) {
    work_[b] =
        dp_->AllReduce(base, base, static_cast<size_t>(bk.size()), comm::DataType::kFloat32, comm::ReduceOp::kSum);
    return;
  }
  const int n = dp_->size();
  const int r = dp_->rank();
  if (scratch_[b].empty()) {
    // In place: rank r's chunk of the bucket receives the sum of everyone's chunk r.
    const int64_t chunk = bk.size() / n;
    work_[b] = dp_->ReduceScatter(base, base + chunk * r, static_cast<size_t>(chunk), comm::DataType::kFloat32,
                                  comm::ReduceOp::kSum);
  } else {
    // Padded copy; the result is copied back into the owned range in Finish().
    float* s = scratch_[b].as<float>();
    const int64_t chunk = static_cast<int64_t>(scratch_[b].size() / sizeof(float)) / n;
    std::memcpy(s, base, sizeof(float) * bk.size());
    std::memset(s + bk.size(), 0, sizeof(float) * (chunk * n - bk.size()));
    work_[b] = dp_->ReduceScatter(s, s + chunk * r, static_cast<size_t>(chunk), comm::DataType::kFloat32,
                                  comm::ReduceOp::kSum);
  }
}

Status GradReducer::Finish() {
  OGAI_PROFILE(kDpComm);
  const double t0 = Now();
  for (size_t b = 0; b < plan_.buckets.size(); ++b) Launch(static_cast<int>(b));
  Status first;
  for (size_t b = 0; b < plan_.buckets.size(); ++b) {
    Status st = work_[b]->Wait();
    if (!st.ok() && first.ok()) first = st.WithContext("data-parallel gradient reduction");
    if (st.ok() && zero_ && !scratch_[b].empty()) {
      const auto [cb, ce] = ZeroChunk(plan_.buckets[b], dp_->rank(), dp_->size());
      const int64_t chunk = static_cast<int64_t>(scratch_[b].size() / sizeof(float)) / dp_->size();
      std::memcpy(grads_ + cb, scratch_[b].as<float>() + chunk * dp_->rank(), sizeof(float) * (ce - cb));
    }
  }
  armed_ = false;
  stats_.exposed_seconds += Now() - t0;
  return first;
}

std::vector<std::pair<int64_t, int64_t>> GradReducer::OwnedRanges(int64_t total) const {
  if (!zero_) return {{0, total}};
  std::vector<std::pair<int64_t, int64_t>> out;
  // Buffer order (ascending), so the optimizer state follows the flat layout.
  for (int b = static_cast<int>(plan_.buckets.size()) - 1; b >= 0; --b) {
    auto r = ZeroChunk(plan_.buckets[b], dp_->rank(), dp_->size());
    if (r.first < r.second) out.push_back(r);
  }
  return out;
}

Status GradReducer::AllGatherParams(float* params) {
  OGAI_PROFILE(kDpComm);
  const int n = dp_->size();
  const int r = dp_->rank();
  std::vector<comm::WorkPtr> works(plan_.buckets.size());
  for (size_t b = 0; b < plan_.buckets.size(); ++b) {
    const Bucket& bk = plan_.buckets[b];
    if (scratch_[b].empty()) {
      const int64_t chunk = bk.size() / n;
      works[b] = dp_->AllGather(params + bk.begin + chunk * r, params + bk.begin, static_cast<size_t>(chunk),
                                comm::DataType::kFloat32);
    } else {
      float* s = scratch_[b].as<float>();
      const int64_t chunk = static_cast<int64_t>(scratch_[b].size() / sizeof(float)) / n;
      const auto [cb, ce] = ZeroChunk(bk, r, n);
      std::memset(s + chunk * r, 0, sizeof(float) * chunk);
      std::memcpy(s + chunk * r, params + cb, sizeof(float) * (ce - cb));
      works[b] = dp_->AllGather(s + chunk * r, s, static_cast<size_t>(chunk), comm::DataType::kFloat32);
    }
  }
  Status first;
  for (size_t b = 0; b < plan_.buckets.size(); ++b) {
    Status st = works[b]->Wait();
    if (!st.ok() && first.ok()) first = st.WithContext("ZeRO-1 parameter all-gather");
    if (st.ok() && !scratch_[b].empty()) {
      const Bucket& bk = plan_.buckets[b];
      std::memcpy(params + bk.begin, scratch_[b].as<float>(), sizeof(float) * bk.size());
    }
  }
  return first;
}

}  // namespace ogai::parallel
