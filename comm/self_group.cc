#include "comm/self_group.h"

#include <cstring>

namespace ogai::comm {
namespace {

class SelfGroup final : public ProcessGroup {
 public:
  SelfGroup(const std::string& name, std::chrono::milliseconds timeout) : ProcessGroup(0, 1, name, timeout) {}
  const char* backend() const override { return "self"; }

  WorkPtr AllReduce(const void* send, void* recv, size_t count, DataType dtype, ReduceOp) override {
    return Copy(send, recv, count * DataTypeSize(dtype));
  }
  WorkPtr ReduceScatter(const void* send, void* recv, size_t count, DataType dtype, ReduceOp) override {
    return Copy(send, recv, count * DataTypeSize(dtype));
  }
  WorkPtr AllGather(const void* send, void* recv, size_t count, DataType dtype) override {
    return Copy(send, recv, count * DataTypeSize(dtype));
  }
  WorkPtr Broadcast(void*, size_t, DataType, int root) override {
    if (root != 0) return MakeCompletedWork(NoPeer("broadcast from root " + std::to_string(root)));
    return MakeCompletedWork(Status::Ok());
  }
  WorkPtr Send(const void*, size_t, DataType, int dst, int) override {
    return MakeCompletedWork(NoPeer("send to rank " + std::to_string(dst)));
  }
  WorkPtr Recv(void*, size_t, DataType, int src, int) override {
    return MakeCompletedWork(NoPeer("receive from rank " + std::to_string(src)));
  }
  WorkPtr Barrier() override { return MakeCompletedWork(Status::Ok()); }
  Result<std::unique_ptr<ProcessGroup>> NewGroup(const std::vector<int>& ranks, const std::string& name) override {
    if (ranks.size() != 1 || ranks[0] != 0) {
      return InvalidArgument("NewGroup '" + name + "': group '" + this->name() + "' has the single rank 0");
    }
    return MakeSelfGroup(name, timeout());
  }

 private:
  WorkPtr Copy(const void* send, void* recv, size_t bytes) {
    if (bytes > 0 && (send == nullptr || recv == nullptr)) {
      return MakeCompletedWork(InvalidArgument("collective on group '" + name() + "': null buffer"));
    }
    if (bytes > 0 && send != recv) std::memmove(recv, send, bytes);
    return MakeCompletedWork(Status::Ok());
  }
  Status NoPeer(const std::string& what) const {
    return InvalidArgument(what + " on group '" + name() + "': it has one rank, there is no peer");
  }
};

}  // namespace

std::unique_ptr<ProcessGroup> MakeSelfGroup(const std::string& name, std::chrono::milliseconds timeout) {
  return std::make_unique<SelfGroup>(name, timeout);
}

}  // namespace ogai::comm
