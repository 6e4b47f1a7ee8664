// Gradient buckets for data parallelism.
//
// Buckets are contiguous ranges of the flat gradient buffer, cut from the END of the buffer
// (the parameters backward finishes first: the head and the last blocks) towards the
// start, each holding whole tensors up to `bucket_elems` (a tensor larger than that is a
// bucket of its own). A bucket's reduction starts as soon as backward has reported every
// tensor in it ready. With ZeRO-1 each bucket is cut into dp equal chunks (padded), and DP
// rank r owns chunk r of every bucket: its optimizer state covers exactly those ranges.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "model/gpt.h"

namespace ogai::parallel {

struct Bucket {
  int64_t begin = 0, end = 0;  // element range in the flat buffers
  std::vector<int> params;     // indices into the model's params()
  int64_t size() const { return end - begin; }
};

struct BucketPlan {
  std::vector<Bucket> buckets;  // in launch order (end of the buffer first)
  std::vector<int> bucket_of;   // param index -> bucket
};

// `total` is the flat buffer length. Every element of [0, total) lands in exactly one bucket.
BucketPlan PlanBuckets(const std::vector<model::ParamSpec>& params, int64_t total, int64_t bucket_elems);

// ZeRO-1: the [begin, end) chunk of `b` that DP rank `r` of `dp` owns (chunks of
// ceil(size/dp) elements; the last may be short or empty).
std::pair<int64_t, int64_t> ZeroChunk(const Bucket& b, int r, int dp);

}  // namespace ogai::parallel
