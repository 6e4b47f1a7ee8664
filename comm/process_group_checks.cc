// The public ProcessGroup calls: every argument check of every backend, in one place, then
// the backend's Do* method (process_group.h says which checks).
#include <initializer_list>
#include <set>

#include "comm/process_group.h"

namespace ogai::comm {
namespace {

WorkPtr Fail(Status st) { return MakeCompletedWork(std::move(st)); }

// The checks as plain predicates: a valid call (every call of a correct program) pays for
// these comparisons only; the Status with its message is built when one fails.
bool TypeOk(DataType t) {
  return static_cast<int>(t) >= 0 && static_cast<int>(t) <= static_cast<int>(DataType::kFloat16);
}
bool OpOk(ReduceOp o) { return static_cast<int>(o) >= 0 && static_cast<int>(o) <= static_cast<int>(ReduceOp::kMin); }
bool BuffersOk(const void* a, const void* b, size_t count) { return count == 0 || (a != nullptr && b != nullptr); }
bool MemberOk(const ProcessGroup& pg, int r) { return r >= 0 && r < pg.size(); }
bool TagOk(int tag) { return tag >= 0 && tag <= 0xffff; }
bool PeerOk(const ProcessGroup& pg, int r, int tag) { return MemberOk(pg, r) && r != pg.rank() && TagOk(tag); }

// The first failed Status of a list of checks.
Status First(std::initializer_list<Status> checks) {
  for (const Status& st : checks) {
    if (!st.ok()) return st;
  }
  return Internal("an argument check failed without saying why");
}

// The same checks with the messages a failed call returns; an OK Status means "valid".
class ArgCheck {
 public:
  ArgCheck(const ProcessGroup& pg, const char* op) : pg_(pg), op_(op) {}

  Status Type(DataType t) const {
    if (!TypeOk(t)) {
      return InvalidArgument(Where() + ": unknown data type " + std::to_string(static_cast<int>(t)));
    }
    return Status::Ok();
  }
  Status Op(ReduceOp o) const {
    if (!OpOk(o)) {
      return InvalidArgument(Where() + ": unknown reduce op " + std::to_string(static_cast<int>(o)));
    }
    return Status::Ok();
  }
  Status Buffers(const void* a, const void* b, size_t count) const {
    if (!BuffersOk(a, b, count)) {
      return InvalidArgument(Where() + ": null buffer with " + std::to_string(count) + " elements");
    }
    return Status::Ok();
  }
  // `what` is e.g. "broadcast root" or "send destination".
  Status Member(const std::string& what, int r) const {
    if (!MemberOk(pg_, r)) {
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
    if (!TagOk(tag)) return InvalidArgument(std::string(op_) + " tag must be in [0, 65535]");
    return Status::Ok();
  }

 private:
  std::string Where() const { return std::string(op_) + " on group '" + pg_.name() + "'"; }
  const ProcessGroup& pg_;
  const char* op_;
};

}  // namespace

WorkPtr ProcessGroup::AllReduce(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) {
  if (TypeOk(dtype) && OpOk(op) && BuffersOk(send, recv, count)) [[likely]] {
    return DoAllReduce(send, recv, count, dtype, op);
  }
  const ArgCheck c(*this, "allreduce");
  return Fail(First({c.Type(dtype), c.Op(op), c.Buffers(send, recv, count)}));
}

WorkPtr ProcessGroup::ReduceScatter(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) {
  if (TypeOk(dtype) && OpOk(op) && BuffersOk(send, recv, count)) [[likely]] {
    return DoReduceScatter(send, recv, count, dtype, op);
  }
  const ArgCheck c(*this, "reducescatter");
  return Fail(First({c.Type(dtype), c.Op(op), c.Buffers(send, recv, count)}));
}

WorkPtr ProcessGroup::AllGather(const void* send, void* recv, size_t count, DataType dtype) {
  if (TypeOk(dtype) && BuffersOk(send, recv, count)) [[likely]] {
    return DoAllGather(send, recv, count, dtype);
  }
  const ArgCheck c(*this, "allgather");
  return Fail(First({c.Type(dtype), c.Buffers(send, recv, count)}));
}

WorkPtr ProcessGroup::Broadcast(void* buf, size_t count, DataType dtype, int root) {
  if (MemberOk(*this, root) && TypeOk(dtype) && BuffersOk(buf, buf, count)) [[likely]] {
    return DoBroadcast(buf, count, dtype, root);
  }
  const ArgCheck c(*this, "broadcast");
  return Fail(First({c.Member("broadcast root", root), c.Type(dtype), c.Buffers(buf, buf, count)}));
}

WorkPtr ProcessGroup::Send(const void* buf, size_t count, DataType dtype, int dst, int tag) {
  if (PeerOk(*this, dst, tag) && TypeOk(dtype) && BuffersOk(buf, buf, count)) [[likely]] {
    return DoSend(buf, count, dtype, dst, tag);
  }
  const ArgCheck c(*this, "send");
  return Fail(First({c.Peer("send destination", dst, tag), c.Type(dtype), c.Buffers(buf, buf, count)}));
}

WorkPtr ProcessGroup::Recv(void* buf, size_t count, DataType dtype, int src, int tag) {
  if (PeerOk(*this, src, tag) && TypeOk(dtype) && BuffersOk(buf, buf, count)) [[likely]] {
    return DoRecv(buf, count, dtype, src, tag);
  }
  const ArgCheck c(*this, "receive");
  return Fail(First({c.Peer("receive source", src, tag), c.Type(dtype), c.Buffers(buf, buf, count)}));
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
