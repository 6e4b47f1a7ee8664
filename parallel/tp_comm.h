// The model's tensor-parallel all-reduces, carried by a ProcessGroup (the TP group).
#pragma once

#include "comm/process_group.h"
#include "model/gpt.h"

namespace ogai::parallel {

class GroupTensorParallelComm : public model::TensorParallelComm {
 public:
  explicit GroupTensorParallelComm(comm::ProcessGroup* tp) : tp_(tp) {}
  Status AllReduceSum(float* data, int64_t n) override;
  Status AllReduceMax(float* data, int64_t n) override;

 private:
  comm::ProcessGroup* tp_;
};

}  // namespace ogai::parallel
