#include "parallel/stream_plan.h"

#include <array>

namespace ogai::parallel {
namespace {

const char* KindName(StreamOp::Kind k) {
  switch (k) {
    case StreamOp::kGrad: return "grad";
    case StreamOp::kRecord: return "record";
    case StreamOp::kWait: return "wait";
    case StreamOp::kAllReduce: return "all-reduce";
    case StreamOp::kReduceScatter: return "reduce-scatter";
    case StreamOp::kOptimizer: return "optimizer";
    case StreamOp::kAllGather: return "all-gather";
    case StreamOp::kNextForward: return "next-forward";
  }
  return "?";
}

std::string OpName(size_t i, const StreamOp& op) {
  std::string s = "op " + std::to_string(i) + " (" + KindName(op.kind) + " on " +
                  (op.stream == Stream::kCompute ? "compute" : "comm");
  if (op.param >= 0) s += ", param " + std::to_string(op.param);
  if (op.bucket >= 0) s += ", bucket " + std::to_string(op.bucket);
  if (op.event >= 0) s += ", event " + std::to_string(op.event);
  return s + ")";
}

// Vector clock over the two streams: how many ops of each stream happen before.
using Clock = std::array<int64_t, 2>;
Clock Max(const Clock& a, const Clock& b) { return {std::max(a[0], b[0]), std::max(a[1], b[1])}; }
bool After(const Clock& c, Stream s, int64_t pos) { return c[static_cast<int>(s)] > pos; }

}  // namespace

std::string StreamPlan::Describe() const {
  std::string out;
  for (size_t i = 0; i < ops.size(); ++i) out += OpName(i, ops[i]) + "\n";
  return out;
}

Result<StreamPlan> PlanDpStreams(const BucketPlan& buckets, const std::vector<int>& ready_order, bool zero1,
                                 bool overlap) {
  const int nb = static_cast<int>(buckets.buckets.size());
  std::vector<int> remaining(nb, 0);
  for (int b = 0; b < nb; ++b) remaining[b] = static_cast<int>(buckets.buckets[b].params.size());
  std::vector<bool> seen(buckets.bucket_of.size(), false);
  StreamPlan plan;
  std::vector<int> ready_event(nb, -1), done_event(nb, -1);
  std::vector<int> ready_buckets;  // in the order their last gradient arrives
  // The comm stream runs in order, so the compute stream needs to wait only for the last
  // reduction's event (and, with ZeRO-1, the last all-gather's): one wait, not one per bucket.
  int last_done = -1;
  auto reduce = [&](int b) {
    plan.ops.push_back({StreamOp::kWait, Stream::kComm, -1, b, ready_event[b]});
    plan.ops.push_back({zero1 ? StreamOp::kReduceScatter : StreamOp::kAllReduce, Stream::kComm, -1, b, -1});
    done_event[b] = plan.events++;
    last_done = b;
  };
  for (size_t i = 0; i < ready_order.size(); ++i) {
    const int p = ready_order[i];
    if (p < 0 || p >= static_cast<int>(buckets.bucket_of.size()) || seen[p]) {
      return InvalidArgument("ready order names parameter " + std::to_string(p) +
                             (p >= 0 && p < static_cast<int>(seen.size()) ? " twice" : ", which has no bucket"));
    }
    seen[p] = true;
    plan.ops.push_back({StreamOp::kGrad, Stream::kCompute, p, -1, -1});
    const int b = buckets.bucket_of[p];
    if (--remaining[b] == 0) {
      ready_event[b] = plan.events++;
      plan.ops.push_back({StreamOp::kRecord, Stream::kCompute, -1, b, ready_event[b]});
      if (overlap) {
        if (i + 1 < ready_order.size()) ++plan.overlapped_buckets;
        reduce(b);
      } else {
        ready_buckets.push_back(b);
      }
    }
  }
  for (int b = 0; b < nb; ++b) {
    if (remaining[b] != 0) {
      return InvalidArgument("ready order misses " + std::to_string(remaining[b]) + " parameter(s) of bucket " +
                             std::to_string(b));
    }
  }
  for (int b : ready_buckets) reduce(b);
  if (last_done >= 0) {
    plan.ops.push_back({StreamOp::kRecord, Stream::kComm, -1, last_done, done_event[last_done]});
    plan.ops.push_back({StreamOp::kWait, Stream::kCompute, -1, last_done, done_event[last_done]});
  }
  plan.ops.push_back({StreamOp::kOptimizer, Stream::kCompute, -1, -1, -1});
  if (zero1) {
    const int opt_event = plan.events++;
    plan.ops.push_back({StreamOp::kRecord, Stream::kCompute, -1, -1, opt_event});
    plan.ops.push_back({StreamOp::kWait, Stream::kComm, -1, -1, opt_event});
    for (int b = 0; b < nb; ++b) plan.ops.push_back({StreamOp::kAllGather, Stream::kComm, -1, b, -1});
    const int gathered = plan.events++;
    plan.ops.push_back({StreamOp::kRecord, Stream::kComm, -1, nb - 1, gathered});
    plan.ops.push_back({StreamOp::kWait, Stream::kCompute, -1, nb - 1, gathered});
  }
  plan.ops.push_back({StreamOp::kNextForward, Stream::kCompute, -1, -1, -1});
  return plan;
}

Status ValidateStreamPlan(const StreamPlan& plan, const BucketPlan& buckets) {
  const int nb = static_cast<int>(buckets.buckets.size());
  std::array<Clock, 2> stream_clock{};  // the clock of each stream's latest op
  std::vector<Clock> event_clock(plan.events, Clock{-1, -1});
  std::vector<bool> recorded(plan.events, false);
  // Position (op index in its stream) of each milestone.
  std::vector<std::vector<int64_t>> grad_pos(nb);
  std::vector<int64_t> reduce_pos(nb, -1), gather_pos(nb, -1);
  int64_t optimizer_pos = -1;
  bool zero1 = false;
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    const StreamOp& op = plan.ops[i];
    const int s = static_cast<int>(op.stream);
    Clock c = stream_clock[s];
    const int64_t pos = c[s];  // this op's index in its stream
    c[s] = pos + 1;
    auto fail = [&](const std::string& why) { return Internal("stream plan: " + OpName(i, op) + " " + why); };
    const bool comm_kind =
        op.kind == StreamOp::kAllReduce || op.kind == StreamOp::kReduceScatter || op.kind == StreamOp::kAllGather;
    const bool compute_kind =
        op.kind == StreamOp::kGrad || op.kind == StreamOp::kOptimizer || op.kind == StreamOp::kNextForward;
    if (comm_kind && op.stream != Stream::kComm) return fail("is a collective outside the comm stream");
    if (compute_kind && op.stream != Stream::kCompute) return fail("is compute work outside the compute stream");
    if (comm_kind && (op.bucket < 0 || op.bucket >= nb)) return fail("names no bucket");
    switch (op.kind) {
      case StreamOp::kGrad:
        if (op.param < 0 || op.param >= static_cast<int>(buckets.bucket_of.size())) return fail("names no parameter");
        grad_pos[buckets.bucket_of[op.param]].push_back(pos);
        break;
      case StreamOp::kRecord:
        if (op.event < 0 || op.event >= plan.events) return fail("records an event out of range");
        recorded[op.event] = true;
        event_clock[op.event] = c;
        break;
      case StreamOp::kWait:
        if (op.event < 0 || op.event >= plan.events || !recorded[op.event]) {
          return fail("waits for an event not recorded before it (the wait would not order anything)");
        }
        c = Max(c, event_clock[op.event]);
        break;
      case StreamOp::kAllReduce:
      case StreamOp::kReduceScatter: {
        zero1 = zero1 || op.kind == StreamOp::kReduceScatter;
        const auto& g = grad_pos[op.bucket];
        if (g.size() != buckets.buckets[op.bucket].params.size()) {
          return fail("starts before backward issued every gradient of its bucket");
        }
        for (int64_t gp : g)
          if (!After(c, Stream::kCompute, gp)) return fail("is not ordered after a gradient of its bucket");
        reduce_pos[op.bucket] = pos;
        break;
      }
      case StreamOp::kOptimizer:
        for (int b = 0; b < nb; ++b) {
          if (reduce_pos[b] < 0 || !After(c, Stream::kComm, reduce_pos[b])) {
            return fail("is not ordered after the reduction of bucket " + std::to_string(b));
          }
        }
        optimizer_pos = pos;
        break;
      case StreamOp::kAllGather:
        if (optimizer_pos < 0 || !After(c, Stream::kCompute, optimizer_pos)) {
          return fail("is not ordered after the optimizer");
        }
        gather_pos[op.bucket] = pos;
        break;
      case StreamOp::kNextForward:
        if (optimizer_pos < 0 || !After(c, Stream::kCompute, optimizer_pos)) {
          return fail("is not ordered after the optimizer");
        }
        if (zero1) {
          for (int b = 0; b < nb; ++b) {
            if (gather_pos[b] < 0 || !After(c, Stream::kComm, gather_pos[b])) {
              return fail("is not ordered after the all-gather of bucket " + std::to_string(b));
            }
          }
        }
        break;
    }
    stream_clock[s] = c;
  }
  if (optimizer_pos < 0) return Internal("stream plan: no optimizer step");
  return Status::Ok();
}

}  // namespace ogai::parallel
