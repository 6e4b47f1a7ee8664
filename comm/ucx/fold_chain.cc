// The hierarchical all-reduce of a group that spans nodes: a fold chain through the nodes,
// striped over each node's ranks, then the result back.
//
// The group's ranks fall into runs of consecutive ranks on one node (ogai-run places a
// node's ranks consecutively, so a run is a node). The buffer is cut into S slices, S the
// size of the smallest run; rank i of each run owns slice i (i < S). For each slice,
// pipelined in segments:
//   1. every rank of a run sends its part of the slice to the run's owner of that slice
//      (same node: UCX picks shared memory / cross-memory attach for that pair);
//   2. the owner in run 0 folds the run's parts; the owner in run k > 0 receives the
//      partial of run k-1's owner over the network and folds its run's parts into it, in
//      rank order, and sends the partial on to run k+1's owner of the slice;
//   3. the owner in the last run holds the result (divided by the size for avg) and sends
//      it to its run and back to run k-1's owner, which forwards it to its run and on back.
// So the reduction work and the network traffic are spread over all ranks of a node (S
// connections between two nodes at once), each link carries each slice once in each
// direction, and the result is the left fold in rank order, ((x0 + x1) + x2) + ...,
// rounded once per step for bf16/fp16: exactly what the shared-memory path of a one-node
// group computes (shm_comm.cc ReduceSlots), so a job gets the same bits whichever nodes its
// ranks run on.
#include <algorithm>
#include <cstring>

#include "comm/reduce.h"
#include "comm/ucx/algorithms.h"

namespace ogai::comm::ucx {

namespace {

// Message index spaces of one collective (20 bits): parts to the owner, partials along the
// chain, results back. A pair of ranks carries one slice per kind, so the index is the
// segment within the slice.
constexpr uint64_t kInMsg = 0, kPartMsg = 1ull << 18, kResMsg = 2ull << 18;
constexpr size_t kMaxSegments = 1u << 18;

struct Run {
  int first = 0, size = 0;
};

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
  std::vector<Run> runs;
  int my_run = 0;
  for (int q = 0; q < n; ++q) {
    if (q == 0 || run_of[static_cast<size_t>(q)] != run_of[static_cast<size_t>(q - 1)]) runs.push_back({q, 0});
    ++runs.back().size;
    if (q == r) my_run = static_cast<int>(runs.size()) - 1;
  }
  const Run me = runs[static_cast<size_t>(my_run)];
  int slices = n;
  for (const Run& u : runs) slices = std::min(slices, u.size);
  slices = static_cast<int>(std::min<size_t>(static_cast<size_t>(slices), count));
  const int mine_slice = r - me.first < slices ? r - me.first : -1;
  auto slice_lo = [&](int s) { return count * static_cast<size_t>(s) / static_cast<size_t>(slices) * es; };
  auto slice_bytes = [&](int s) { return slice_lo(s + 1) - slice_lo(s); };
  size_t seg = std::max(a.tuning->segment_bytes, bytes / kMaxSegments + 1);
  seg = (seg + es - 1) / es * es;
  auto nseg_of = [&](int s) { return (slice_bytes(s) + seg - 1) / seg; };
  auto seg_len = [&](int s, size_t k) { return std::min(seg, slice_bytes(s) - k * seg); };
  const char* src = static_cast<const char*>(in);
  char* dst = static_cast<char*>(out);

  // As a member of my run: my part of every slice I do not own goes to its owner, and its
  // result comes back. A result exists only after the owner has my part, so in == out is safe.
  std::vector<Req> recvs, sends;
  size_t total = 0;
  for (int s = 0; s < slices; ++s) total += nseg_of(s);
  recvs.reserve(total);
  sends.reserve(total * static_cast<size_t>(me.size + 2));
  for (int s = 0; s < slices; ++s) {
    if (s == mine_slice) continue;
    const int owner = me.first + s;
    for (size_t k = 0; k < nseg_of(s); ++k) {
      recvs.emplace_back();
      OGAI_RETURN_IF_ERROR(t.Irecv(owner, CollTag(owner, ctx.seq, kResMsg + k), dst + slice_lo(s) + k * seg,
                                   seg_len(s, k), &recvs.back()));
    }
  }
  for (int s = 0; s < slices; ++s) {
    if (s == mine_slice) continue;
    const int owner = me.first + s;
    for (size_t k = 0; k < nseg_of(s); ++k) {
      sends.emplace_back();
      OGAI_RETURN_IF_ERROR(
          t.Isend(owner, CollTag(r, ctx.seq, kInMsg + k), src + slice_lo(s) + k * seg, seg_len(s, k), &sends.back()));
    }
  }
  if (mine_slice >= 0) {
    const int s = mine_slice;
    const int prev = my_run > 0 ? runs[static_cast<size_t>(my_run - 1)].first + s : -1;
    const int next = my_run + 1 < static_cast<int>(runs.size()) ? runs[static_cast<size_t>(my_run + 1)].first + s : -1;
    const size_t nseg = nseg_of(s);
    const size_t lo = slice_lo(s);
    // Receive slots: `window` segments of (every part of my run, mine copied in, + partial).
    const size_t parts = static_cast<size_t>(me.size) + 1;
    const size_t window = static_cast<size_t>(std::max(1, a.tuning->window));
    char* slots = a.ring_tmp->Get(window * parts * seg);
    auto slot = [&](size_t k, size_t j) { return slots + ((k % window) * parts + j) * seg; };
    std::vector<Req> in_reqs(nseg * parts);
    auto post = [&](size_t k) -> Status {
      for (int j = 0; j < me.size; ++j) {
        const int q = me.first + j;
        if (q == r) continue;
        OGAI_RETURN_IF_ERROR(t.Irecv(q, CollTag(q, ctx.seq, kInMsg + k), slot(k, static_cast<size_t>(j)), seg_len(s, k),
                                     &in_reqs[k * parts + static_cast<size_t>(j)]));
      }
      if (prev >= 0) {
        OGAI_RETURN_IF_ERROR(t.Irecv(prev, CollTag(prev, ctx.seq, kPartMsg + k), slot(k, parts - 1), seg_len(s, k),
                                     &in_reqs[k * parts + parts - 1]));
      }
      return Status::Ok();
    };
    auto send_result = [&](size_t k) -> Status {
      for (int j = 0; j < me.size; ++j) {
        const int q = me.first + j;
        if (q == r) continue;
        sends.emplace_back();
        OGAI_RETURN_IF_ERROR(
            t.Isend(q, CollTag(r, ctx.seq, kResMsg + k), dst + lo + k * seg, seg_len(s, k), &sends.back()));
      }
      if (prev >= 0) {
        sends.emplace_back();
        OGAI_RETURN_IF_ERROR(
            t.Isend(prev, CollTag(r, ctx.seq, kResMsg + k), dst + lo + k * seg, seg_len(s, k), &sends.back()));
      }
      return Status::Ok();
    };
    std::vector<Req> part_sends(next >= 0 ? nseg : 0);
    size_t posted = 0;
    for (size_t k = 0; k < nseg; ++k) {
      while (posted < nseg && posted < k + window) OGAI_RETURN_IF_ERROR(post(posted++));
      OGAI_RETURN_IF_ERROR(t.WaitAll(&in_reqs[k * parts], parts, ctx, op_name));
      const size_t len = seg_len(s, k) / es;
      char* acc = dst + lo + k * seg;
      // My own part from a slot too: acc may be my input (in place) at any position.
      std::memcpy(slot(k, static_cast<size_t>(r - me.first)), src + lo + k * seg, seg_len(s, k));
      std::vector<const char*> order;  // the left fold's operands, in rank order
      if (prev >= 0) order.push_back(slot(k, parts - 1));
      for (int j = 0; j < me.size; ++j) order.push_back(slot(k, static_cast<size_t>(j)));
      if (order.size() == 1) {
        std::memcpy(acc, order[0], seg_len(s, k));
      } else {
        Reduce(acc, order[0], order[1], len, dtype, op);
        for (size_t j = 2; j < order.size(); ++j) Reduce(acc, acc, order[j], len, dtype, op);
      }
      if (next >= 0) {
        OGAI_RETURN_IF_ERROR(t.Isend(next, CollTag(r, ctx.seq, kPartMsg + k), acc, seg_len(s, k), &part_sends[k]));
      } else {
        if (op == ReduceOp::kAvg) DivideInPlace(acc, len, dtype, n);
        OGAI_RETURN_IF_ERROR(send_result(k));
      }
    }
    if (next >= 0) {
      // The result comes back from the next owner into the buffer the partial left from.
      std::vector<Req> res(nseg);
      for (size_t k = 0; k < nseg; ++k) {
        OGAI_RETURN_IF_ERROR(t.WaitAll(&part_sends[k], 1, ctx, op_name));
        OGAI_RETURN_IF_ERROR(
            t.Irecv(next, CollTag(next, ctx.seq, kResMsg + k), dst + lo + k * seg, seg_len(s, k), &res[k]));
      }
      for (size_t k = 0; k < nseg; ++k) {
        OGAI_RETURN_IF_ERROR(t.WaitAll(&res[k], 1, ctx, op_name));
        OGAI_RETURN_IF_ERROR(send_result(k));
      }
    }
  }
  OGAI_RETURN_IF_ERROR(t.WaitAll(recvs.data(), recvs.size(), ctx, op_name));
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
