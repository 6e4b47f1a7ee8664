// Data-parallel gradient reduction, overlapped with backward.
//
// The reducer owns the bucket plan. While backward runs (on the last micro-batch of a step,
// after Arm()), the model reports each tensor's gradient as ready; when the last tensor of a
// bucket is ready the bucket's collective starts on the DP group — all-reduce (sum), or
// with ZeRO-1 a reduce-scatter that leaves each rank the sum over its own chunk — and
// backward continues while it runs. Finish() starts whatever has not started (everything,
// when overlap is off) and waits for all of it; the time spent waiting there is the
// exposed communication time.
//
// Some tensors can be held back (Defer): their readiness is reported later with
// MarkReady(), e.g. the tied embedding, whose gradient must first be summed across the
// first and last pipeline stage.
#pragma once

#include <memory>
#include <vector>

#include "comm/process_group.h"
#include "core/memory.h"
#include "parallel/buckets.h"

namespace ogai::parallel {

struct ReducerStats {
  double exposed_seconds = 0;  // waiting in Finish()
  int64_t bytes = 0;           // bytes reduced (per rank, per step)
  int buckets_early = 0;       // buckets started during backward
};

class GradReducer {
 public:
  GradReducer(comm::ProcessGroup* dp, BucketPlan plan, float* grads, bool zero, bool overlap);

  // Reductions start from the next backward's readiness reports.
  void Arm();
  void Defer(int param);
  // The model's grad-ready hook.
  void OnGradReady(int param);
  // Reports a deferred tensor ready (starts its bucket if complete).
  void MarkReady(int param);
  // Starts everything not started, waits for all, returns the first error.
  Status Finish();

  const BucketPlan& plan() const { return plan_; }
  // ZeRO-1: the flat ranges this rank owns (its chunk of every bucket); without ZeRO, the
  // whole buffer.
  std::vector<std::pair<int64_t, int64_t>> OwnedRanges(int64_t total) const;
  // ZeRO-1: gathers every rank's updated parameter chunks into `params` (all buckets).
  Status AllGatherParams(float* params);
  const ReducerStats& stats() const { return stats_; }
  // Overlap on: buckets start during backward. Off: all start in Finish() (for measuring).
  void set_overlap(bool on) { overlap_ = on; }
  void ResetStats() { stats_ = {}; }

 private:
  void Launch(int bucket);

  comm::ProcessGroup* dp_;
  BucketPlan plan_;
  float* grads_;
  bool zero_;
  bool overlap_;
  bool armed_ = false;
  std::vector<int> pending_;    // per bucket: tensors not yet ready
  std::vector<bool> deferred_;  // per param
  std::vector<bool> launched_;
  std::vector<comm::WorkPtr> work_;
  std::vector<Buffer> scratch_;  // ZeRO with a bucket size not divisible by dp
  ReducerStats stats_;
};

}  // namespace ogai::parallel
