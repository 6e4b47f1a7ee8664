// Reduce-scatter: the reduce-scatter half of the pipelined ring (ring.cc). Partial sums
// live in group scratch memory, so the caller's input is never written; the fully reduced
// own block lands in the output.
#include <cstring>

#include "comm/reduce.h"
#include "comm/ucx/algorithms.h"

namespace ogai::comm::ucx {

Status ReduceScatter(const CollArgs& a, const void* in, void* out, size_t count, DataType dtype, ReduceOp op) {
  const int n = a.t->size(), r = a.t->rank();
  const size_t es = DataTypeSize(dtype);
  if (count == 0) return Status::Ok();
  if (n == 1) {
    if (out != in) std::memmove(out, in, count * es);
    return Status::Ok();
  }
  RingPlan plan;
  plan.dtype = dtype;
  plan.op = op;
  plan.op_name = "reducescatter";
  plan.rs_steps = n - 1;
  plan.ag_steps = 0;
  for (int b = 0; b < n; ++b) {
    plan.block_off.push_back(static_cast<size_t>(b) * count);
    plan.block_cnt.push_back(count);
  }
  // In-place (out inside in): the own block of the input is read by the last step, which
  // also writes the output: element-wise, same index, so that is safe. Partial sums of the
  // other blocks go to scratch.
  plan.in = static_cast<const char*>(in);
  plan.work = a.scratch->Get(static_cast<size_t>(n) * count * es);
  plan.owned_out = static_cast<char*>(out);
  (void)r;
  return RunRing(a, plan);
}

}  // namespace ogai::comm::ucx
