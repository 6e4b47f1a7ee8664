// The ucx backend's collective algorithms (one file each). Internal.
//
// Every algorithm is a blocking function run by the group's ProgressEngine (on the progress
// thread or a waiting caller). Tags are CollTag(src, ctx.seq, message index), so two
// collectives never match each other's messages.
//
// Choices, measured on the 2-core development machine (docs/comm.md has the numbers):
//   all-reduce   small (<= rd_max_bytes): recursive doubling (log2 n rounds, whole buffer);
//                large: ring reduce-scatter + ring all-gather, pipelined in segments so
//                the reduction of one segment overlaps the transfer of the next.
//   reduce-scatter, all-gather: the ring halves above.
//   broadcast    small: binomial tree; large: pipelined chain from the root.
//   barrier      dissemination (ceil(log2 n) rounds of empty messages).
// A group whose members share one node runs its collectives through shared memory
// (comm/shm); a group that spans nodes runs all-reduce and reduce-scatter as a fold chain
// across the nodes, striped over each node's ranks (fold_chain.cc), unless forced flat (OGAI_COMM_FLAT,
// ProcessGroupOptions::flat_collectives).
#pragma once

#include <cstddef>
#include <vector>

#include "comm/progress_engine.h"
#include "comm/shm/shm_comm.h"
#include "comm/types.h"
#include "comm/ucx/ucx_transport.h"
#include "core/memory.h"

namespace ogai::comm::ucx {

struct AlgoTuning {
  size_t rd_max_bytes = 64 << 10;    // all-reduce: recursive doubling up to this size
  size_t segment_bytes = 256 << 10;  // pipeline segment of ring and chain
  int window = 4;                    // receives in flight per pipeline
  size_t bcast_chain_min_bytes = 256 << 10;
  // Reads OGAI_UCX_RD_MAX_BYTES, OGAI_UCX_SEGMENT_BYTES, OGAI_UCX_WINDOW.
  static AlgoTuning FromEnv();
};

// Scratch memory reused across the operations of one group (they run one at a time).
class Scratch {
 public:
  char* Get(size_t bytes);

 private:
  Buffer buf_;
};

struct CollArgs {
  UcxTransport* t;
  const detail::OpContext* ctx;
  const AlgoTuning* tuning;
  Scratch* scratch;             // algorithm buffers
  Scratch* ring_tmp;            // the ring's receive slots
  shm::ShmComm* shm = nullptr;  // set when every member is on this node: collectives go through it
};

Status AllReduce(const CollArgs& a, const void* in, void* out, size_t count, DataType dtype, ReduceOp op);
Status ReduceScatter(const CollArgs& a, const void* in, void* out, size_t count, DataType dtype, ReduceOp op);
Status AllGather(const CollArgs& a, const void* in, void* out, size_t count, DataType dtype);
Status Broadcast(const CollArgs& a, void* buf, size_t count, DataType dtype, int root);
Status Barrier(const CollArgs& a);

// The pipelined ring shared by all-reduce, reduce-scatter and all-gather (ring.cc).
struct RingPlan {
  DataType dtype = DataType::kFloat32;
  ReduceOp op = ReduceOp::kSum;
  std::vector<size_t> block_off, block_cnt;  // elements, one block per rank
  int rs_steps = 0;                          // reduce-scatter steps (n-1 or 0)
  int ag_steps = 0;                          // all-gather steps (n-1 or 0)
  const char* in = nullptr;                  // this rank's input blocks (read by the reduce-scatter)
  char* work = nullptr;                      // partial sums during the reduce-scatter, results after
  char* owned_out = nullptr;                 // where the fully reduced own block goes (reduce-scatter)
  const char* op_name = "";
};
Status RunRing(const CollArgs& a, const RingPlan& plan);

// Groups that span nodes (fold_chain.cc): run_of[i] numbers the node of rank i, ranks of a
// node consecutive. The left fold in rank order along the nodes (striped over each node's
// ranks), the result back;
// the same bits as a one-node group's shared-memory path. Reduce-scatter is the all-reduce
// followed by this rank's block.
Status FoldChainAllReduce(const CollArgs& a, const std::vector<int>& run_of, const void* in, void* out, size_t count,
                          DataType dtype, ReduceOp op, const char* op_name = "allreduce");
Status FoldChainReduceScatter(const CollArgs& a, const std::vector<int>& run_of, const void* in, void* out,
                              size_t count, DataType dtype, ReduceOp op);

}  // namespace ogai::comm::ucx
