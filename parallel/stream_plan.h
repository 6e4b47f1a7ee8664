// The order of one GPU training step's work on two CUDA streams, as data: what the compute
// stream and the communication (NCCL) stream run, and the events that order them.
//
//   compute:  backward produces gradients, tensor by tensor (`ready_order`); after the last
//             tensor of DP bucket k it records event G_k
//   comm:     waits G_k, then reduces bucket k (all-reduce; ZeRO-1: reduce-scatter); after
//             the last reduction it records R
//   compute:  after backward, waits R (the comm stream is in order: R covers every bucket),
//             then the optimizer (ZeRO-1: then comm waits for it, all-gathers the updated
//             parameters and records A, which the next forward waits for)
// Every wait in the plan is needed: the test removes each in turn and the validator fails.
//
// With overlap, bucket k's reduction is issued as soon as G_k is recorded, while backward
// continues on the compute stream; without, every reduction is issued after backward.
// The plan is built and checked on the host (ValidateStreamPlan simulates the two streams
// with vector clocks), so its ordering is unit-tested without a GPU; the GPU step issues the
// same list as cudaEventRecord / cudaStreamWaitEvent / NCCL calls.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "parallel/buckets.h"

namespace ogai::parallel {

enum class Stream { kCompute = 0, kComm = 1 };

struct StreamOp {
  enum Kind {
    kGrad,           // compute: backward wrote the gradient of `param`
    kRecord,         // record `event` on `stream`
    kWait,           // `stream` waits `event`
    kAllReduce,      // comm: DP all-reduce of `bucket`
    kReduceScatter,  // comm: ZeRO-1 reduce-scatter of `bucket`
    kOptimizer,      // compute: AdamW over this rank's share
    kAllGather,      // comm: ZeRO-1 all-gather of `bucket`'s updated parameters
    kNextForward,    // compute: the next step's forward reads the parameters
  };
  Kind kind;
  Stream stream;
  int param = -1;
  int bucket = -1;
  int event = -1;
};

struct StreamPlan {
  std::vector<StreamOp> ops;  // in the order the host issues them
  int events = 0;
  // Reductions issued before the last gradient (the ones backward can hide).
  int overlapped_buckets = 0;
  std::string Describe() const;
};

// `ready_order`: parameter indices in the order backward finishes their gradients (every
// parameter of `buckets` exactly once).
Result<StreamPlan> PlanDpStreams(const BucketPlan& buckets, const std::vector<int>& ready_order, bool zero1,
                                 bool overlap);

// Checks, by simulating both streams: every reduction of bucket k happens after every gradient
// of bucket k; the optimizer after every reduction; each all-gather after the optimizer; the
// next forward after every all-gather (ZeRO-1) or the optimizer; waits name recorded events;
// collectives only on comm, gradients and the optimizer only on compute. The error names the
// first op that breaks a rule.
Status ValidateStreamPlan(const StreamPlan& plan, const BucketPlan& buckets);

}  // namespace ogai::parallel
