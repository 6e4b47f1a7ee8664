// MPI backend. fp32 sum/max/min use MPI's own operators; bf16 and fp16 travel as 16-bit
// integers with user-defined MPI operators that call ogai's reduction kernels. Avg is a
// sum followed by a division. Deadlines: an operation polls MPI_Test until its deadline;
// MPI cannot cancel a collective, so a timed-out group is left unusable (as the Work
// contract says) after asking its members, on a separate communicator, how far they got;
// the buffers of a timed-out collective stay in MPI's hands until the process exits.
#include "comm/mpi/mpi_process_group.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <sstream>
#include <thread>

#include "comm/mpi/mpi_env.h"
#include "comm/progress_engine.h"
#include "comm/reduce.h"

namespace ogai::comm::mpi {

using detail::Clock;

namespace {

constexpr int kProbeTag = 1;
constexpr int kReplyTag = 2;

template <DataType D, ReduceOp O>
void UserOp(void* in, void* inout, int* len, MPI_Datatype*) {
  Reduce(inout, inout, in, static_cast<size_t>(*len), D, O);
}

MPI_Op UserOpFor(DataType d, ReduceOp o) {
  static MPI_Op ops[3][4] = {};
  static std::once_flag once;
  std::call_once(once, [] {
    MPI_Op_create(&UserOp<DataType::kBFloat16, ReduceOp::kSum>, 1, &ops[1][0]);
    MPI_Op_create(&UserOp<DataType::kBFloat16, ReduceOp::kMax>, 1, &ops[1][2]);
    MPI_Op_create(&UserOp<DataType::kBFloat16, ReduceOp::kMin>, 1, &ops[1][3]);
    MPI_Op_create(&UserOp<DataType::kFloat16, ReduceOp::kSum>, 1, &ops[2][0]);
    MPI_Op_create(&UserOp<DataType::kFloat16, ReduceOp::kMax>, 1, &ops[2][2]);
    MPI_Op_create(&UserOp<DataType::kFloat16, ReduceOp::kMin>, 1, &ops[2][3]);
    ops[1][1] = ops[1][0];
    ops[2][1] = ops[2][0];
  });
  if (d == DataType::kFloat32) {
    switch (o) {
      case ReduceOp::kSum:
      case ReduceOp::kAvg: return MPI_SUM;
      case ReduceOp::kMax: return MPI_MAX;
      case ReduceOp::kMin: return MPI_MIN;
    }
  }
  return ops[static_cast<int>(d)][static_cast<int>(o)];
}

MPI_Datatype MpiType(DataType d) { return d == DataType::kFloat32 ? MPI_FLOAT : MPI_UINT16_T; }

class MpiWork final : public Work {  // point-to-point
 public:
  MpiWork(MPI_Request req, std::string what, Clock::time_point deadline)
      : req_(req), what_(std::move(what)), deadline_(deadline) {}
  Status Wait(std::chrono::milliseconds timeout) override {
    std::lock_guard<std::mutex> lk(mu_);
    auto until = timeout >= std::chrono::hours(24 * 365) ? deadline_ : std::min(deadline_, Clock::now() + timeout);
    int spins = 0;
    while (!finished_) {
      int flag = 0;
      MPI_Status st;
      int rc = MPI_Test(&req_, &flag, &st);
      if (rc != MPI_SUCCESS) return Finish(MpiError(what_, rc));
      if (flag) return Finish(Status::Ok());
      if (abort_.load()) {
        MPI_Cancel(&req_);
        return Finish(Aborted(what_ + " aborted"));
      }
      if (Clock::now() >= until) {
        if (until < deadline_)
          return Timeout(what_ + " still running after " + std::to_string(timeout.count()) + " ms of Wait");
        MPI_Cancel(&req_);
        return Finish(Timeout(what_ + " timed out"));
      }
      if (++spins > 10000) std::this_thread::yield();
    }
    return status_;
  }
  bool Test() override {
    std::lock_guard<std::mutex> lk(mu_);
    if (finished_) return true;
    int flag = 0;
    MPI_Status st;
    int rc = MPI_Test(&req_, &flag, &st);
    if (rc != MPI_SUCCESS)
      (void)Finish(MpiError(what_, rc));
    else if (flag)
      (void)Finish(Status::Ok());
    return finished_;
  }
  void Abort() override { abort_.store(true); }
  Status status() const override {
    std::lock_guard<std::mutex> lk(mu_);
    return status_;
  }

 private:
  Status Finish(Status st) {
    finished_ = true;
    status_ = std::move(st);
    return status_;
  }
  mutable std::mutex mu_;
  MPI_Request req_;
  std::string what_;
  Clock::time_point deadline_;
  std::atomic<bool> abort_{false};
  bool finished_ = false;
  Status status_;
};

class MpiProcessGroup final : public ProcessGroup {
 public:
  MpiProcessGroup(int rank, int size, const ProcessGroupOptions& o, MPI_Comm comm)
      : ProcessGroup(rank, size, o), comm_(comm) {
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_dup(comm_, &ctrl_);
    detail::EngineHooks hooks;
    hooks.poll = [this] { ServiceProbes(); };
    engine_ = std::make_unique<detail::ProgressEngine>(o.name, o.timeout, std::move(hooks));
  }
  ~MpiProcessGroup() override {
    engine_->Shutdown();
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
      if (!engine_->broken().ok()) return;  // a collective may still be pending on comm_
      MPI_Comm_free(&ctrl_);
      if (comm_ != MPI_COMM_WORLD) MPI_Comm_free(&comm_);
    }
  }

  const char* backend() const override { return "mpi"; }

 protected:
  WorkPtr DoAllReduce(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) override {
    if (Status st = CheckCount("allreduce", count); !st.ok()) return MakeCompletedWork(st);
    const int n = size();
    return Submit(
        "allreduce", count * DataTypeSize(dtype),
        [=, this](MPI_Request* r) {
          return MPI_Iallreduce(send == recv ? MPI_IN_PLACE : send, recv, static_cast<int>(count), MpiType(dtype),
                                UserOpFor(dtype, op), comm_, r);
        },
        [=] {
          if (op == ReduceOp::kAvg) DivideInPlace(recv, count, dtype, n);
        },
        count == 0);
  }
  WorkPtr DoReduceScatter(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) override {
    if (Status st = CheckCount("reducescatter", count * static_cast<size_t>(size())); !st.ok())
      return MakeCompletedWork(st);
    const int n = size();
    const bool in_place =
        static_cast<const char*>(send) + static_cast<size_t>(rank()) * count * DataTypeSize(dtype) == recv;
    const size_t bytes = count * DataTypeSize(dtype);
    return Submit(
        "reducescatter", bytes * static_cast<size_t>(n),
        [=, this](MPI_Request* r) {
          if (in_place) {
            // MPI's in-place form reduces the whole buffer and leaves our block at its start.
            return MPI_Ireduce_scatter_block(MPI_IN_PLACE, const_cast<void*>(send), static_cast<int>(count),
                                             MpiType(dtype), UserOpFor(dtype, op), comm_, r);
          }
          return MPI_Ireduce_scatter_block(send, recv, static_cast<int>(count), MpiType(dtype), UserOpFor(dtype, op),
                                           comm_, r);
        },
        [=] {
          if (in_place && recv != send) std::memmove(recv, send, bytes);
          if (op == ReduceOp::kAvg) DivideInPlace(recv, count, dtype, n);
        },
        count == 0);
  }
  WorkPtr DoAllGather(const void* send, void* recv, size_t count, DataType dtype) override {
    if (Status st = CheckCount("allgather", count * static_cast<size_t>(size())); !st.ok())
      return MakeCompletedWork(st);
    const bool in_place = static_cast<char*>(recv) + static_cast<size_t>(rank()) * count * DataTypeSize(dtype) == send;
    return Submit(
        "allgather", count * DataTypeSize(dtype) * static_cast<size_t>(size()),
        [=, this](MPI_Request* r) {
          return MPI_Iallgather(in_place ? MPI_IN_PLACE : send, static_cast<int>(count), MpiType(dtype), recv,
                                static_cast<int>(count), MpiType(dtype), comm_, r);
        },
        nullptr, count == 0);
  }
  WorkPtr DoBroadcast(void* buf, size_t count, DataType dtype, int root) override {
    if (Status st = CheckCount("broadcast", count); !st.ok()) return MakeCompletedWork(st);
    return Submit(
        "broadcast", count * DataTypeSize(dtype),
        [=, this](MPI_Request* r) { return MPI_Ibcast(buf, static_cast<int>(count), MpiType(dtype), root, comm_, r); },
        nullptr, count == 0);
  }
  WorkPtr DoBarrier() override {
    return Submit(
        "barrier", 0, [this](MPI_Request* r) { return MPI_Ibarrier(comm_, r); }, nullptr, false);
  }
  WorkPtr DoSend(const void* buf, size_t count, DataType dtype, int dst, int tag) override {
    if (Status st = CheckCount("send", count); !st.ok()) return MakeCompletedWork(st);
    MPI_Request req;
    int rc = MPI_Isend(buf, static_cast<int>(count), MpiType(dtype), dst, tag, comm_, &req);
    if (rc != MPI_SUCCESS) return MakeCompletedWork(MpiError("MPI_Isend", rc));
    return std::make_shared<MpiWork>(req, "send to rank " + std::to_string(dst) + " on group '" + name() + "'",
                                     Clock::now() + timeout());
  }
  WorkPtr DoRecv(void* buf, size_t count, DataType dtype, int src, int tag) override {
    if (Status st = CheckCount("recv", count); !st.ok()) return MakeCompletedWork(st);
    MPI_Request req;
    int rc = MPI_Irecv(buf, static_cast<int>(count), MpiType(dtype), src, tag, comm_, &req);
    if (rc != MPI_SUCCESS) return MakeCompletedWork(MpiError("MPI_Irecv", rc));
    return std::make_shared<MpiWork>(req, "receive from rank " + std::to_string(src) + " on group '" + name() + "'",
                                     Clock::now() + timeout());
  }

  Result<std::unique_ptr<ProcessGroup>> DoNewGroup(const std::vector<int>& ranks, int my,
                                                   const ProcessGroupOptions& o) override {
    const std::string& name = o.name;
    MPI_Group parent_group, group;
    MPI_Comm_group(comm_, &parent_group);
    MPI_Group_incl(parent_group, static_cast<int>(ranks.size()), ranks.data(), &group);
    MPI_Comm comm = MPI_COMM_NULL;
    // The tag keeps concurrent creations on the same parent apart.
    int tag = static_cast<int>(std::hash<std::string>{}(name)&0x7fff);
    int rc = MPI_Comm_create_group(comm_, group, tag, &comm);
    MPI_Group_free(&group);
    MPI_Group_free(&parent_group);
    if (rc != MPI_SUCCESS) return MpiError("MPI_Comm_create_group for '" + name + "'", rc);
    return std::unique_ptr<ProcessGroup>(new MpiProcessGroup(my, static_cast<int>(ranks.size()), o, comm));
  }

 private:
  Status CheckCount(const char* op, size_t count) const {
    if (count > static_cast<size_t>(INT_MAX)) {
      return NotSupported(std::string(op) + " of " + std::to_string(count) + " elements exceeds MPI's int counts");
    }
    return Status::Ok();
  }

  // Starts an MPI non-blocking collective and polls it to completion or deadline.
  template <typename Start>
  WorkPtr Submit(const char* op, size_t bytes, Start start, std::function<void()> finish, bool empty) {
    return engine_->Submit(op, bytes, true, [=, this](const detail::OpContext& ctx) -> Status {
      if (empty) return Status::Ok();
      MPI_Request req;
      int rc = start(&req);
      if (rc != MPI_SUCCESS) return MpiError(std::string(op) + " on group '" + name() + "'", rc);
      int spins = 0;
      for (;;) {
        int flag = 0;
        rc = MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return MpiError(std::string(op) + " on group '" + name() + "'", rc);
        if (flag) break;
        ServiceProbes();
        if (ctx.aborted() || Clock::now() >= ctx.deadline()) {
          std::string what = std::string(op) + " #" + std::to_string(ctx.seq) + " on group '" + name() + "' (rank " +
                             std::to_string(rank()) + " of " + std::to_string(size()) + ")";
          if (ctx.aborted()) return Aborted(what + " aborted");
          return Timeout(what + " timed out: " + Diagnose(ctx.seq));
        }
        if (!ctx.on_caller_thread && ++spins > 2000) {
          std::this_thread::sleep_for(std::chrono::microseconds(50));
          spins = 0;
        }
      }
      if (finish) finish();
      return Status::Ok();
    });
  }

  // Answers "how far did you get?" from a peer whose collective timed out.
  void ServiceProbes() {
    std::unique_lock<std::mutex> lk(probe_mu_, std::try_to_lock);
    if (!lk.owns_lock()) return;
    for (;;) {
      int flag = 0;
      MPI_Status st;
      if (MPI_Iprobe(MPI_ANY_SOURCE, kProbeTag, ctrl_, &flag, &st) != MPI_SUCCESS || !flag) return;
      uint64_t seq = 0;
      MPI_Recv(&seq, 1, MPI_UINT64_T, st.MPI_SOURCE, kProbeTag, ctrl_, MPI_STATUS_IGNORE);
      reply_ = engine_ ? engine_->collectives_started() : 0;
      MPI_Request r;
      MPI_Isend(&reply_, 1, MPI_UINT64_T, st.MPI_SOURCE, kReplyTag, ctrl_, &r);
      MPI_Request_free(&r);
    }
  }

  std::string Diagnose(uint64_t seq) {
    const int n = size();
    std::vector<uint64_t> answers(static_cast<size_t>(n), 0);
    std::vector<MPI_Request> recvs(static_cast<size_t>(n), MPI_REQUEST_NULL);
    for (int p = 0; p < n; ++p) {
      if (p == rank()) continue;
      MPI_Irecv(&answers[static_cast<size_t>(p)], 1, MPI_UINT64_T, p, kReplyTag, ctrl_, &recvs[static_cast<size_t>(p)]);
      MPI_Request s;
      probe_seq_ = seq;  // must outlive the freed request
      MPI_Isend(&probe_seq_, 1, MPI_UINT64_T, p, kProbeTag, ctrl_, &s);
      MPI_Request_free(&s);
    }
    auto deadline = Clock::now() + std::chrono::milliseconds(300);
    std::vector<int> got(static_cast<size_t>(n), 0);
    while (Clock::now() < deadline) {
      bool all = true;
      for (int p = 0; p < n; ++p) {
        if (p == rank() || got[static_cast<size_t>(p)]) continue;
        MPI_Test(&recvs[static_cast<size_t>(p)], &got[static_cast<size_t>(p)], MPI_STATUS_IGNORE);
        if (!got[static_cast<size_t>(p)]) all = false;
      }
      ServiceProbes();
      if (all) break;
    }
    std::vector<int> missing;
    std::ostringstream detail;
    for (int p = 0; p < n; ++p) {
      if (p == rank()) continue;
      if (!got[static_cast<size_t>(p)]) {
        MPI_Cancel(&recvs[static_cast<size_t>(p)]);
        missing.push_back(p);
        detail << "; rank " << p << " did not answer";
      } else if (answers[static_cast<size_t>(p)] <= seq) {
        missing.push_back(p);
        detail << "; rank " << p << " has started only " << answers[static_cast<size_t>(p)]
               << " collectives on this group";
      }
    }
    if (missing.empty()) return "every rank has reached this collective; a peer is stuck or too slow";
    std::string s = "missing ranks [";
    for (size_t i = 0; i < missing.size(); ++i) s += (i ? ", " : "") + std::to_string(missing[i]);
    return s + "]" + detail.str();
  }

  MPI_Comm comm_;
  MPI_Comm ctrl_ = MPI_COMM_NULL;
  std::mutex probe_mu_;
  uint64_t reply_ = 0;
  uint64_t probe_seq_ = 0;
  std::unique_ptr<detail::ProgressEngine> engine_;
};

}  // namespace

Result<std::unique_ptr<ProcessGroup>> CreateMpiProcessGroup(int rank, int size, const ProcessGroupOptions& options) {
  OGAI_RETURN_IF_ERROR(EnsureMpi());
  if (rank != WorldRank() || size != WorldSize()) {
    return InvalidArgument("mpi backend: rank/size " + std::to_string(rank) + "/" + std::to_string(size) +
                           " differ from MPI's " + std::to_string(WorldRank()) + "/" + std::to_string(WorldSize()) +
                           ": start every rank with mpirun -np " + std::to_string(size));
  }
  return std::unique_ptr<ProcessGroup>(new MpiProcessGroup(rank, size, options, MPI_COMM_WORLD));
}

}  // namespace ogai::comm::mpi
