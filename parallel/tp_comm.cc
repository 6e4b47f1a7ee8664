#include "parallel/tp_comm.h"

#include "core/profile.h"

namespace ogai::parallel {

Status GroupTensorParallelComm::AllReduceSum(float* data, int64_t n) {
  OGAI_PROFILE(kTpComm);
  return tp_->AllReduce(data, data, static_cast<size_t>(n), comm::DataType::kFloat32, comm::ReduceOp::kSum)->Wait();
}

Status GroupTensorParallelComm::AllReduceMax(float* data, int64_t n) {
  OGAI_PROFILE(kTpComm);
  return tp_->AllReduce(data, data, static_cast<size_t>(n), comm::DataType::kFloat32, comm::ReduceOp::kMax)->Wait();
}

}  // namespace ogai::parallel
