// The hierarchical all-reduce of a group that spans nodes: a fold chain through the node
// leaders, then the result back.
//
// The group's ranks fall into runs of consecutive ranks on one node (ogai-run places a
// node's ranks consecutively, so a run is a node). The first rank of a run is its leader.
// For each pipeline segment:
//   1. every other member of a run sends its input to its leader (same node: UCX picks
//      shared memory / cross-memory attach for that pair);
//   2. the leader of run 0 folds x0, x1, ... of its run; the leader of run k > 0 receives
//      the partial of run k-1 over the network and folds its own run's inputs into it, in
//      rank order; it sends the partial on to the leader of run k+1;
//   3. the last leader holds the result (divided by the size for avg) and sends it back:
//      to its run's members and to the previous leader, which forwards it to its members
//      and to the leader before it.
// Each network link carries the buffer once in each direction (a flat ring over every rank
// carries 2(n-1)/n of it per rank), and the result is the left fold in rank order,
// ((x0 + x1) + x2) + ..., rounded once per step for bf16/fp16: exactly what the
// shared-memory path of a one-node group computes (shm_comm.cc ReduceSlots), so a job gets
// the same bits whichever nodes its ranks run on.
#include <algorithm>
#include <cstring>

#include "comm/reduce.h"
#include "comm/ucx/algorithms.h"

namespace ogai::comm::ucx {

namespace {

// Message index spaces of one collective (20 bits): inputs to the leader, partials along
// the chain, results back.
constexpr uint64_t kInMsg = 0, kPartMsg = 1ull << 18, kResMsg = 2ull << 18;
constexpr size_t kMaxSegments = 1u << 18;

}  // namespace

Status FoldChainAllReduce(const CollArgs& a, const std::vector<int>& run_of, const void* in, void* out, size_t count,
                          DataType dtype, ReduceOp op, const char* op_name) {
  UcxTransport& t = *a.t;
  const auto& ctx = *a.ctx;
  const int n = t.size(), r = t.rank();
  const size_t es = DataTypeSize(dtype);
  const size_t bytes = count * es;
  if (bytes == 0 || n == 1) {
    if (bytes != 0 && in != out) std::memcpy(out, in, bytes);
    return Status::Ok();
  }
  // My run: [first, last]; the runs before and after.
  int first = r, last = r;
  while (first > 0 && run_of[static_cast<size_t>(first - 1)] == run_of[static_cast<size_t>(r)]) --first;
  while (last + 1 < n && run_of[static_cast<size_t>(last + 1)] == run_of[static_cast<size_t>(r)]) ++last;
  const int prev_leader = [&] {
    if (first == 0) return -1;
    int p = first - 1;
    while (p > 0 && run_of[static_cast<size_t>(p - 1)] == run_of[static_cast<size_t>(first - 1)]) --p;
    return p;
  }();
  const int next_leader = last + 1 < n ? last + 1 : -1;

  size_t seg = std::max(a.tuning->segment_bytes, bytes / kMaxSegments + 1);
  seg = (seg + es - 1) / es * es;
  const size_t nseg = (bytes + seg - 1) / seg;
  auto seg_len = [&](size_t k) { return std::min(seg, bytes - k * seg); };
  const char* src = static_cast<const char*>(in);
  char* dst = static_cast<char*>(out);

  if (r != first) {
    // A member: input to the leader, result from it. The result of a segment exists only
    // after the leader received that segment's input, so in == out is safe.
    std::vector<Req> sends(nseg), recvs(nseg);
    for (size_t k = 0; k < nseg; ++k) {
      OGAI_RETURN_IF_ERROR(t.Irecv(first, CollTag(first, ctx.seq, kResMsg + k), dst + k * seg, seg_len(k), &recvs[k]));
    }
    for (size_t k = 0; k < nseg; ++k) {
      OGAI_RETURN_IF_ERROR(t.Isend(first, CollTag(r, ctx.seq, kInMsg + k), src + k * seg, seg_len(k), &sends[k]));
    }
    OGAI_RETURN_IF_ERROR(t.WaitAll(recvs.data(), recvs.size(), ctx, op_name));
    return t.WaitAll(sends.data(), sends.size(), ctx, op_name);
  }

  // A leader. Receive slots: `window` segments of (members + the incoming partial).
  const int members = last - first;  // other ranks of my run
  const size_t window = static_cast<size_t>(std::max(1, a.tuning->window));
  const size_t per_slot = static_cast<size_t>(members + 1) * seg;
  char* slots = a.ring_tmp->Get(window * per_slot);
  std::vector<Req> recvs(nseg * static_cast<size_t>(members + 1));
  auto slot = [&](size_t k, int j) { return slots + (k % window) * per_slot + static_cast<size_t>(j) * seg; };
  auto post = [&](size_t k) -> Status {
    for (int j = 1; j <= members; ++j) {
      OGAI_RETURN_IF_ERROR(t.Irecv(first + j, CollTag(first + j, ctx.seq, kInMsg + k), slot(k, j - 1), seg_len(k),
                                   &recvs[k * static_cast<size_t>(members + 1) + static_cast<size_t>(j - 1)]));
    }
    if (prev_leader >= 0) {
      OGAI_RETURN_IF_ERROR(t.Irecv(prev_leader, CollTag(prev_leader, ctx.seq, kPartMsg + k), slot(k, members),
                                   seg_len(k), &recvs[k * static_cast<size_t>(members + 1) + members]));
    }
    return Status::Ok();
  };
  const size_t nrecv = static_cast<size_t>(members) + (prev_leader >= 0 ? 1 : 0);
  std::vector<Req> sends;
  sends.reserve(nseg * static_cast<size_t>(members + 2));
  auto send_result = [&](size_t k) -> Status {
    for (int j = 1; j <= members; ++j) {
      sends.emplace_back();
      OGAI_RETURN_IF_ERROR(
          t.Isend(first + j, CollTag(r, ctx.seq, kResMsg + k), dst + k * seg, seg_len(k), &sends.back()));
    }
    if (prev_leader >= 0) {
      sends.emplace_back();
      OGAI_RETURN_IF_ERROR(
          t.Isend(prev_leader, CollTag(r, ctx.seq, kResMsg + k), dst + k * seg, seg_len(k), &sends.back()));
    }
    return Status::Ok();
  };
  std::vector<Req> part_sends(next_leader >= 0 ? nseg : 0);
  size_t posted = 0;
  for (size_t k = 0; k < nseg; ++k) {
    while (posted < nseg && posted < k + window) OGAI_RETURN_IF_ERROR(post(posted++));
    OGAI_RETURN_IF_ERROR(t.WaitAll(&recvs[k * static_cast<size_t>(members + 1)], nrecv, ctx, op_name));
    const size_t len = seg_len(k) / es;
    char* acc = dst + k * seg;
    const char* mine = src + k * seg;
    if (prev_leader >= 0) {
      Reduce(acc, slot(k, members), mine, len, dtype, op);
    } else if (members > 0) {
      Reduce(acc, mine, slot(k, 0), len, dtype, op);
    } else if (acc != mine) {
      std::memcpy(acc, mine, seg_len(k));
    }
    for (int j = prev_leader >= 0 ? 0 : 1; j < members; ++j) Reduce(acc, acc, slot(k, j), len, dtype, op);
    if (next_leader >= 0) {
      OGAI_RETURN_IF_ERROR(t.Isend(next_leader, CollTag(r, ctx.seq, kPartMsg + k), acc, seg_len(k), &part_sends[k]));
    } else {
      if (op == ReduceOp::kAvg) DivideInPlace(acc, len, dtype, n);
      OGAI_RETURN_IF_ERROR(send_result(k));
    }
  }
  if (next_leader >= 0) {
    // The result comes back from the next leader into the buffer the partial left from.
    std::vector<Req> res(nseg);
    for (size_t k = 0; k < nseg; ++k) {
      OGAI_RETURN_IF_ERROR(t.WaitAll(&part_sends[k], 1, ctx, op_name));
      OGAI_RETURN_IF_ERROR(
          t.Irecv(next_leader, CollTag(next_leader, ctx.seq, kResMsg + k), dst + k * seg, seg_len(k), &res[k]));
    }
    for (size_t k = 0; k < nseg; ++k) {
      OGAI_RETURN_IF_ERROR(t.WaitAll(&res[k], 1, ctx, op_name));
      OGAI_RETURN_IF_ERROR(send_result(k));
    }
  }
  return t.WaitAll(sends.data(), sends.size(), ctx, op_name);
}

Status FoldChainReduceScatter(const CollArgs& a, const std::vector<int>& run_of, const void* in, void* out,
                              size_t count, DataType dtype, ReduceOp op) {
  // The whole reduction through the chain, then this rank's block: the same bits as the
  // one-node path, at the cost of an all-reduce.
  const size_t es = DataTypeSize(dtype);
  const size_t n = static_cast<size_t>(a.t->size());
  char* all = a.scratch->Get(n * count * es);
  OGAI_RETURN_IF_ERROR(FoldChainAllReduce(a, run_of, in, all, n * count, dtype, op, "reducescatter"));
  std::memmove(out, all + static_cast<size_t>(a.t->rank()) * count * es, count * es);
  return Status::Ok();
}

}  // namespace ogai::comm::ucx
