#include "comm/self_group.h"

#include <cstring>

#include "core/check.h"

namespace ogai::comm {
namespace {

class SelfGroup final : public ProcessGroup {
 public:
  explicit SelfGroup(const ProcessGroupOptions& options) : ProcessGroup(0, 1, options) {}
  const char* backend() const override { return "self"; }

 protected:
  WorkPtr DoAllReduce(const void* send, void* recv, size_t count, DataType dtype, ReduceOp) override {
    return Copy(send, recv, count * DataTypeSize(dtype));
  }
  WorkPtr DoReduceScatter(const void* send, void* recv, size_t count, DataType dtype, ReduceOp) override {
    return Copy(send, recv, count * DataTypeSize(dtype));
  }
  WorkPtr DoAllGather(const void* send, void* recv, size_t count, DataType dtype) override {
    return Copy(send, recv, count * DataTypeSize(dtype));
  }
  WorkPtr DoBroadcast(void*, size_t, DataType, int) override { return MakeCompletedWork(Status::Ok()); }
  // ProcessGroup::Send/Recv reject the only rank (0, this one) as a peer.
  WorkPtr DoSend(const void*, size_t, DataType, int, int) override {
    OGAI_CHECK(false && "unreachable: a one-rank group has no peer to send to");
    return nullptr;
  }
  WorkPtr DoRecv(void*, size_t, DataType, int, int) override {
    OGAI_CHECK(false && "unreachable: a one-rank group has no peer to receive from");
    return nullptr;
  }
  WorkPtr DoBarrier() override { return MakeCompletedWork(Status::Ok()); }
  Result<std::unique_ptr<ProcessGroup>> DoNewGroup(const std::vector<int>&, int,
                                                   const ProcessGroupOptions& options) override {
    return MakeSelfGroup(options);
  }

 private:
  static WorkPtr Copy(const void* send, void* recv, size_t bytes) {
    if (bytes > 0 && send != recv) std::memmove(recv, send, bytes);
    return MakeCompletedWork(Status::Ok());
  }
};

}  // namespace

std::unique_ptr<ProcessGroup> MakeSelfGroup(const ProcessGroupOptions& options) {
  return std::make_unique<SelfGroup>(options);
}

}  // namespace ogai::comm
