// All-reduce: recursive doubling for small buffers, pipelined ring for large ones.
//
// Recursive doubling, n ranks, p = largest power of two <= n:
//   1. ranks r >= p send their input to r-p, which combines (own, theirs) - lower rank first;
//   2. ranks r < p run log2(p) rounds: exchange with r ^ 2^k, combine (lower, higher);
//   3. ranks r < n-p send the result back to r+p.
// The combining tree is the same on every rank, so every rank gets identical bits.
#include <cstring>

#include "comm/reduce.h"
#include "comm/ucx/algorithms.h"

namespace ogai::comm::ucx {

static Status RecursiveDoubling(const CollArgs& a, const char* in, char* out, size_t count, DataType dtype,
                                ReduceOp op) {
  UcxTransport& t = *a.t;
  const auto& ctx = *a.ctx;
  const int n = t.size(), r = t.rank();
  const size_t bytes = count * DataTypeSize(dtype);
  if (out != in) std::memcpy(out, in, bytes);
  char* tmp = a.scratch->Get(bytes);
  int p = 1;
  while (p * 2 <= n) p *= 2;
  const int extra = n - p;
  uint64_t msg = 0;
  if (r >= p) {
    Req s;
    OGAI_RETURN_IF_ERROR(t.Isend(r - p, CollTag(r, ctx.seq, msg), out, bytes, &s));
    OGAI_RETURN_IF_ERROR(t.WaitAll(&s, 1, ctx, "allreduce"));
  } else if (r < extra) {
    Req rv;
    OGAI_RETURN_IF_ERROR(t.Irecv(r + p, CollTag(r + p, ctx.seq, msg), tmp, bytes, &rv));
    OGAI_RETURN_IF_ERROR(t.WaitAll(&rv, 1, ctx, "allreduce"));
    Reduce(out, out, tmp, count, dtype, op);
  }
  ++msg;
  if (r < p) {
    for (int mask = 1; mask < p; mask <<= 1, ++msg) {
      const int peer = r ^ mask;
      Req rq[2];
      OGAI_RETURN_IF_ERROR(t.Irecv(peer, CollTag(peer, ctx.seq, msg), tmp, bytes, &rq[0]));
      OGAI_RETURN_IF_ERROR(t.Isend(peer, CollTag(r, ctx.seq, msg), out, bytes, &rq[1]));
      OGAI_RETURN_IF_ERROR(t.WaitAll(rq, 2, ctx, "allreduce"));
      if (r < peer) {
        Reduce(out, out, tmp, count, dtype, op);
      } else {
        Reduce(out, tmp, out, count, dtype, op);
      }
    }
  } else {
    msg += static_cast<uint64_t>(__builtin_ctz(static_cast<unsigned>(p)));
  }
  if (r < extra) {
    Req s;
    OGAI_RETURN_IF_ERROR(t.Isend(r + p, CollTag(r, ctx.seq, msg), out, bytes, &s));
    OGAI_RETURN_IF_ERROR(t.WaitAll(&s, 1, ctx, "allreduce"));
  } else if (r >= p) {
    Req rv;
    OGAI_RETURN_IF_ERROR(t.Irecv(r - p, CollTag(r - p, ctx.seq, msg), out, bytes, &rv));
    OGAI_RETURN_IF_ERROR(t.WaitAll(&rv, 1, ctx, "allreduce"));
  }
  if (op == ReduceOp::kAvg) DivideInPlace(out, count, dtype, n);
  return Status::Ok();
}

Status AllReduce(const CollArgs& a, const void* in, void* out, size_t count, DataType dtype, ReduceOp op) {
  const int n = a.t->size();
  const size_t es = DataTypeSize(dtype);
  if (count == 0) return Status::Ok();
  if (n == 1) {
    if (out != in) std::memcpy(out, in, count * es);
    return Status::Ok();
  }
  if (count * es <= a.tuning->rd_max_bytes || count < static_cast<size_t>(n)) {
    return RecursiveDoubling(a, static_cast<const char*>(in), static_cast<char*>(out), count, dtype, op);
  }
  RingPlan plan;
  plan.dtype = dtype;
  plan.op = op;
  plan.op_name = "allreduce";
  plan.rs_steps = n - 1;
  plan.ag_steps = n - 1;
  plan.in = static_cast<const char*>(in);
  plan.work = static_cast<char*>(out);
  const size_t base = count / static_cast<size_t>(n), rem = count % static_cast<size_t>(n);
  size_t off = 0;
  for (int b = 0; b < n; ++b) {
    size_t c = base + (static_cast<size_t>(b) < rem ? 1 : 0);
    plan.block_off.push_back(off);
    plan.block_cnt.push_back(c);
    off += c;
  }
  return RunRing(a, plan);
}

}  // namespace ogai::comm::ucx
