// All-gather: the all-gather half of the pipelined ring (ring.cc), straight into the output.
#include <cstring>

#include "comm/ucx/algorithms.h"

namespace ogai::comm::ucx {

Status AllGather(const CollArgs& a, const void* in, void* out, size_t count, DataType dtype) {
  const int n = a.t->size(), r = a.t->rank();
  const size_t es = DataTypeSize(dtype);
  if (count == 0) return Status::Ok();
  char* own = static_cast<char*>(out) + static_cast<size_t>(r) * count * es;
  if (own != in) std::memcpy(own, in, count * es);
  if (n == 1) return Status::Ok();
  RingPlan plan;
  plan.dtype = dtype;
  plan.op_name = "allgather";
  plan.ag_steps = n - 1;
  plan.work = static_cast<char*>(out);
  for (int b = 0; b < n; ++b) {
    plan.block_off.push_back(static_cast<size_t>(b) * count);
    plan.block_cnt.push_back(count);
  }
  return RunRing(a, plan);
}

}  // namespace ogai::comm::ucx
