// The public ProcessGroup calls: every argument check of every backend, in one place, then
// the backend's Do* method (process_group.h says which checks).
#include <set>

#include "comm/process_group.h"

namespace ogai::comm {
namespace {

WorkPtr Fail(Status st) { return MakeCompletedWork(std::move(st)); }

// Argument checks shared by the calls below; an empty Status means "valid".
class ArgCheck {
 public:
  ArgCheck(const ProcessGroup& pg, const char* op) : pg_(pg), op_(op) {}

  Status Type(DataType t) const {
    if (static_cast<int>(t) < 0 || static_cast<int>(t) > static_cast<int>(DataType::kFloat16)) {
      return InvalidArgument(Where() + ": unknown data type " + std::to_string(static_cast<int>(t)));
    }
    return Status::Ok();
  }
  Status Op(ReduceOp o) const {
    if (static_cast<int>(o) < 0 || static_cast<int>(o) > static_cast<int>(ReduceOp::kMin)) {
      return InvalidArgument(Where() + ": unknown reduce op " + std::to_string(static_cast<int>(o)));
    }
    return Status::Ok();
  }
  Status Buffers(const void* a, const void* b, size_t count) const {
    if (count > 0 && (a == nullptr || b == nullptr)) {
      return InvalidArgument(Where() + ": null buffer with " + std::to_string(count) + " elements");
    }
    return Status::Ok();
  }
  // `what` is e.g. "broadcast root" or "send destination".
  Status Member(const std::string& what, int r) const {
    if (r < 0 || r >= pg_.size()) {
      return InvalidArgument(what + " " + std::to_string(r) + " is outside group '" + pg_.name() + "' of size " +
                             std::to_string(pg_.size()));
    }
    return Status::Ok();
  }
  Status Peer(const std::string& what, int r, int tag) const {
    OGAI_RETURN_IF_ERROR(Member(what, r));
    if (r == pg_.rank()) {
      return InvalidArgument(what + " " + std::to_string(r) + " is this rank itself on group '" + pg_.name() +
                             "'; point-to-point needs another member");
    }
    if (tag < 0 || tag > 0xffff) return InvalidArgument(std::string(op_) + " tag must be in [0, 65535]");
    return Status::Ok();
  }

 private:
  std::string Where() const { return std::string(op_) + " on group '" + pg_.name() + "'"; }
  const ProcessGroup& pg_;
  const char* op_;
};

}  // namespace

WorkPtr ProcessGroup::AllReduce(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) {
  ArgCheck c(*this, "allreduce");
  for (Status st : {c.Type(dtype), c.Op(op), c.Buffers(send, recv, count)}) {
    if (!st.ok()) return Fail(st);
  }
  return DoAllReduce(send, recv, count, dtype, op);
}

WorkPtr ProcessGroup::ReduceScatter(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) {
  ArgCheck c(*this, "reducescatter");
  for (Status st : {c.Type(dtype), c.Op(op), c.Buffers(send, recv, count)}) {
    if (!st.ok()) return Fail(st);
  }
  return DoReduceScatter(send, recv, count, dtype, op);
}

WorkPtr ProcessGroup::AllGather(const void* send, void* recv, size_t count, DataType dtype) {
  ArgCheck c(*this, "allgather");
  for (Status st : {c.Type(dtype), c.Buffers(send, recv, count)}) {
    if (!st.ok()) return Fail(st);
  }
  return DoAllGather(send, recv, count, dtype);
}

WorkPtr ProcessGroup::Broadcast(void* buf, size_t count, DataType dtype, int root) {
  ArgCheck c(*this, "broadcast");
  for (Status st : {c.Member("broadcast root", root), c.Type(dtype), c.Buffers(buf, buf, count)}) {
    if (!st.ok()) return Fail(st);
  }
  return DoBroadcast(buf, count, dtype, root);
}

WorkPtr ProcessGroup::Send(const void* buf, size_t count, DataType dtype, int dst, int tag) {
  ArgCheck c(*this, "send");
  for (Status st : {c.Peer("send destination", dst, tag), c.Type(dtype), c.Buffers(buf, buf, count)}) {
    if (!st.ok()) return Fail(st);
  }
  return DoSend(buf, count, dtype, dst, tag);
}

WorkPtr ProcessGroup::Recv(void* buf, size_t count, DataType dtype, int src, int tag) {
  ArgCheck c(*this, "receive");
  for (Status st : {c.Peer("receive source", src, tag), c.Type(dtype), c.Buffers(buf, buf, count)}) {
    if (!st.ok()) return Fail(st);
  }
  return DoRecv(buf, count, dtype, src, tag);
}

WorkPtr ProcessGroup::Barrier() { return DoBarrier(); }

Result<std::unique_ptr<ProcessGroup>> ProcessGroup::NewGroup(const std::vector<int>& ranks, const std::string& name) {
  std::set<int> uniq(ranks.begin(), ranks.end());
  if (uniq.size() != ranks.size() || ranks.empty()) {
    return InvalidArgument("NewGroup '" + name + "': ranks must be distinct and non-empty");
  }
  ArgCheck c(*this, "NewGroup");
  int my = -1;
  for (size_t i = 0; i < ranks.size(); ++i) {
    OGAI_RETURN_IF_ERROR(c.Member("NewGroup '" + name + "' member", ranks[i]));
    if (ranks[i] == rank()) my = static_cast<int>(i);
  }
  if (my < 0) {
    return InvalidArgument("NewGroup '" + name + "': rank " + std::to_string(rank()) +
                           " is not a member; only members call NewGroup");
  }
  ProcessGroupOptions o = options_;
  o.name = name;
  return DoNewGroup(ranks, my, o);
}

}  // namespace ogai::comm
