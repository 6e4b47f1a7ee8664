#include "parallel/buckets.h"

#include <algorithm>

namespace ogai::parallel {

BucketPlan PlanBuckets(const std::vector<model::ParamSpec>& params, int64_t total, int64_t bucket_elems) {
  BucketPlan plan;
  plan.bucket_of.assign(params.size(), -1);
  // Parameters in buffer order; each owns [offset, next offset) (its padding included).
  std::vector<int> order(params.size());
  for (size_t i = 0; i < params.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return params[a].offset < params[b].offset; });
  Bucket cur;
  cur.end = total;
  cur.begin = total;
  for (int k = static_cast<int>(order.size()) - 1; k >= 0; --k) {
    const int idx = order[k];
    const int64_t begin = params[idx].offset;
    if (!cur.params.empty() && cur.end - begin > bucket_elems) {
      plan.buckets.push_back(cur);
      cur = Bucket();
      cur.end = plan.buckets.back().begin;
    }
    cur.begin = begin;
    cur.params.push_back(idx);
  }
  if (!cur.params.empty()) {
    cur.begin = 0;  // anything before the first tensor
    plan.buckets.push_back(cur);
  }
  for (size_t b = 0; b < plan.buckets.size(); ++b)
    for (int p : plan.buckets[b].params) plan.bucket_of[p] = static_cast<int>(b);
  return plan;
}

std::pair<int64_t, int64_t> ZeroChunk(const Bucket& b, int r, int dp) {
  const int64_t chunk = (b.size() + dp - 1) / dp;
  const int64_t begin = std::min(b.end, b.begin + chunk * r);
  const int64_t end = std::min(b.end, begin + chunk);
  return {begin, end};
}

}  // namespace ogai::parallel
