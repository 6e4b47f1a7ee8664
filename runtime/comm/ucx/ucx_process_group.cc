#include "runtime/comm/ucx/ucx_process_group.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "runtime/comm/progress_engine.h"
#include "runtime/comm/ucx/algorithms.h"
#include "runtime/comm/ucx/ucx_transport.h"
#include "runtime/core/log.h"

namespace ogai::comm::ucx {

using detail::Clock;

namespace {

constexpr int kBootTag = -1;  // per-peer sequence space of bootstrap messages

// A posted point-to-point message.
class P2pWork final : public Work {
 public:
  P2pWork(std::shared_ptr<UcxTransport> t, Req req, std::string what, std::chrono::milliseconds timeout)
      : t_(std::move(t)), req_(req), what_(std::move(what)), deadline_(Clock::now() + timeout) {}

  Status Wait(std::chrono::milliseconds timeout) override {
    std::lock_guard<std::mutex> lk(mu_);
    if (finished_) return status_;
    auto wait_deadline = timeout >= std::chrono::hours(24 * 365) ? deadline_
                                                                 : std::min(deadline_, Clock::now() + timeout);
    Status st = t_->WaitOne(&req_, wait_deadline, &abort_, what_);
    if (st.code() == Code::kTimeout && wait_deadline < deadline_) {
      // Only the caller's wait ran out; the message is still in flight.
      return Timeout(what_ + " still running after " + std::to_string(timeout.count()) + " ms of Wait");
    }
    finished_ = true;
    status_ = st;
    return status_;
  }
  bool Test() override {
    std::lock_guard<std::mutex> lk(mu_);
    if (finished_) return true;
    t_->Progress();
    if (!t_->Check(&req_)) return false;
    finished_ = true;
    if (req_.status != UCS_OK) status_ = UcsError(what_, req_.status);
    return true;
  }
  void Abort() override { abort_.store(true); }
  Status status() const override {
    std::lock_guard<std::mutex> lk(mu_);
    return status_;
  }

 private:
  std::shared_ptr<UcxTransport> t_;
  mutable std::mutex mu_;
  Req req_;
  std::string what_;
  Clock::time_point deadline_;
  std::atomic<bool> abort_{false};
  bool finished_ = false;
  Status status_;
};

class UcxProcessGroup final : public ProcessGroup {
 public:
  UcxProcessGroup(int rank, int size, const ProcessGroupOptions& o, std::shared_ptr<UcxTransport> t)
      : ProcessGroup(rank, size, o.name, o.timeout), t_(std::move(t)), tuning_(AlgoTuning::FromEnv()) {
    detail::EngineHooks hooks;
    UcxTransport* raw = t_.get();
    hooks.poll = [raw] { raw->Progress(); };
    engine_ = std::make_unique<detail::ProgressEngine>(o.name, o.timeout, std::move(hooks),
                                                       detail::EngineTuning::FromEnv());
    detail::ProgressEngine* eng = engine_.get();
    t_->SetProgressCounter([eng] { return eng->collectives_started(); });
  }

  ~UcxProcessGroup() override {
    engine_->Shutdown();
    t_->SetProgressCounter(nullptr);
  }

  const char* backend() const override { return "ucx"; }

  WorkPtr AllReduce(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) override {
    if (Status st = CheckBuffers("allreduce", send, recv, count); !st.ok()) return MakeCompletedWork(st);
    return Submit("allreduce", count * DataTypeSize(dtype), [=, this](const CollArgs& a) {
      return ucx::AllReduce(a, send, recv, count, dtype, op);
    });
  }
  WorkPtr ReduceScatter(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) override {
    if (Status st = CheckBuffers("reducescatter", send, recv, count); !st.ok()) return MakeCompletedWork(st);
    return Submit("reducescatter", count * DataTypeSize(dtype) * static_cast<size_t>(size()),
                  [=, this](const CollArgs& a) { return ucx::ReduceScatter(a, send, recv, count, dtype, op); });
  }
  WorkPtr AllGather(const void* send, void* recv, size_t count, DataType dtype) override {
    if (Status st = CheckBuffers("allgather", send, recv, count); !st.ok()) return MakeCompletedWork(st);
    return Submit("allgather", count * DataTypeSize(dtype) * static_cast<size_t>(size()),
                  [=, this](const CollArgs& a) { return ucx::AllGather(a, send, recv, count, dtype); });
  }
  WorkPtr Broadcast(void* buf, size_t count, DataType dtype, int root) override {
    if (root < 0 || root >= size()) return MakeCompletedWork(BadRank("broadcast root", root));
    if (Status st = CheckBuffers("broadcast", buf, buf, count); !st.ok()) return MakeCompletedWork(st);
    return Submit("broadcast", count * DataTypeSize(dtype),
                  [=, this](const CollArgs& a) { return ucx::Broadcast(a, buf, count, dtype, root); });
  }
  WorkPtr Barrier() override {
    return Submit("barrier", 0, [](const CollArgs& a) { return ucx::Barrier(a); });
  }

  WorkPtr Send(const void* buf, size_t count, DataType dtype, int dst, int tag) override {
    if (dst < 0 || dst >= size()) return MakeCompletedWork(BadRank("send destination", dst));
    if (tag < 0 || tag > 0xffff) return MakeCompletedWork(InvalidArgument("send tag must be in [0, 65535]"));
    if (Status b = engine_->broken(); !b.ok()) return MakeCompletedWork(Aborted("send on group '" + name() + "': " + b.message()));
    uint64_t seq = t_->NextSendSeq(dst, tag);
    Req req;
    Status st = t_->Isend(dst, MakeTag(TagKind::kP2p, rank(), (static_cast<uint64_t>(tag) << 24) | (seq & 0xffffff)),
                          buf, count * DataTypeSize(dtype), &req);
    if (!st.ok()) return MakeCompletedWork(st);
    return std::make_shared<P2pWork>(t_, req, "send to rank " + std::to_string(dst) + " (tag " + std::to_string(tag) + ")", timeout());
  }
  WorkPtr Recv(void* buf, size_t count, DataType dtype, int src, int tag) override {
    if (src < 0 || src >= size()) return MakeCompletedWork(BadRank("receive source", src));
    if (tag < 0 || tag > 0xffff) return MakeCompletedWork(InvalidArgument("receive tag must be in [0, 65535]"));
    uint64_t seq = t_->NextRecvSeq(src, tag);
    Req req;
    Status st = t_->Irecv(src, MakeTag(TagKind::kP2p, src, (static_cast<uint64_t>(tag) << 24) | (seq & 0xffffff)),
                   buf, count * DataTypeSize(dtype), &req);
    if (!st.ok()) return MakeCompletedWork(st);
    return std::make_shared<P2pWork>(t_, req, "receive from rank " + std::to_string(src) + " (tag " + std::to_string(tag) + ")", timeout());
  }

  Result<std::unique_ptr<ProcessGroup>> NewGroup(const std::vector<int>& ranks, const std::string& name) override {
    std::set<int> uniq(ranks.begin(), ranks.end());
    if (uniq.size() != ranks.size() || ranks.empty()) {
      return InvalidArgument("NewGroup '" + name + "': ranks must be distinct and non-empty");
    }
    int my = -1;
    for (size_t i = 0; i < ranks.size(); ++i) {
      if (ranks[i] < 0 || ranks[i] >= size()) return BadRank("NewGroup '" + name + "' member", ranks[i]);
      if (ranks[i] == rank()) my = static_cast<int>(i);
    }
    if (my < 0) {
      return InvalidArgument("NewGroup '" + name + "': rank " + std::to_string(rank()) +
                             " is not a member; only members call NewGroup");
    }
    ProcessGroupOptions o;
    o.name = name;
    o.timeout = timeout();
    auto parent = t_;
    auto deadline = Clock::now() + timeout();
    const int parent_rank = rank();
    AddressExchange exchange = [parent, ranks, my, deadline, parent_rank, name](const std::string& mine) -> Result<std::vector<std::string>> {
      const size_t n = ranks.size();
      std::vector<std::string> out(n);
      out[static_cast<size_t>(my)] = mine;
      std::vector<uint64_t> lens(n, 0);
      uint64_t my_len = mine.size();
      // Lengths first, then the addresses.
      std::vector<Req> sends;
      sends.reserve(2 * n);
      std::vector<Req> rl(n);
      for (size_t j = 0; j < n; ++j) {
        if (static_cast<int>(j) == my) continue;
        int p = ranks[j];
        OGAI_RETURN_IF_ERROR(parent->Irecv(p, MakeTag(TagKind::kBoot, p, parent->NextRecvSeq(p, kBootTag)), &lens[j], 8, &rl[j]));
        sends.emplace_back();
        OGAI_RETURN_IF_ERROR(parent->Isend(p, MakeTag(TagKind::kBoot, parent_rank, parent->NextSendSeq(p, kBootTag)), &my_len, 8, &sends.back()));
      }
      const std::string what = "NewGroup '" + name + "' address exchange";
      for (size_t j = 0; j < n; ++j) {
        if (static_cast<int>(j) == my) continue;
        OGAI_RETURN_IF_ERROR(parent->WaitOne(&rl[j], deadline, nullptr, what));
        out[j].resize(lens[j]);
        OGAI_RETURN_IF_ERROR(parent->Irecv(ranks[j], MakeTag(TagKind::kBoot, ranks[j], parent->NextRecvSeq(ranks[j], kBootTag)), out[j].data(), lens[j], &rl[j]));
        sends.emplace_back();
        OGAI_RETURN_IF_ERROR(parent->Isend(ranks[j], MakeTag(TagKind::kBoot, parent_rank, parent->NextSendSeq(ranks[j], kBootTag)), mine.data(), mine.size(), &sends.back()));
      }
      for (size_t j = 0; j < n; ++j) {
        if (static_cast<int>(j) == my) continue;
        OGAI_RETURN_IF_ERROR(parent->WaitOne(&rl[j], deadline, nullptr, what));
      }
      for (auto& s : sends) OGAI_RETURN_IF_ERROR(parent->WaitOne(&s, deadline, nullptr, what));
      return out;
    };
    return CreateUcxProcessGroup(my, static_cast<int>(ranks.size()), o, exchange);
  }

 private:
  Status BadRank(const std::string& what, int r) const {
    return InvalidArgument(what + " " + std::to_string(r) + " is outside group '" + name() + "' of size " +
                           std::to_string(size()));
  }
  Status CheckBuffers(const char* op, const void* send, const void* recv, size_t count) const {
    if (count > 0 && (send == nullptr || recv == nullptr)) {
      return InvalidArgument(std::string(op) + " on group '" + name() + "': null buffer with " +
                             std::to_string(count) + " elements");
    }
    return Status::Ok();
  }
  template <typename F>
  WorkPtr Submit(const char* op, size_t bytes, F fn) {
    return engine_->Submit(op, bytes, true, [this, fn](const detail::OpContext& ctx) {
      CollArgs a{t_.get(), &ctx, &tuning_, &scratch_, &ring_tmp_};
      return fn(a);
    });
  }

  std::shared_ptr<UcxTransport> t_;
  AlgoTuning tuning_;
  Scratch scratch_, ring_tmp_;
  std::unique_ptr<detail::ProgressEngine> engine_;
};

}  // namespace

Result<std::unique_ptr<ProcessGroup>> CreateUcxProcessGroup(int rank, int size, const ProcessGroupOptions& options,
                                                            const AddressExchange& exchange) {
  if (rank < 0 || rank >= size) {
    return InvalidArgument("ucx: rank " + std::to_string(rank) + " outside world size " + std::to_string(size));
  }
  OGAI_ASSIGN_OR_RETURN(std::unique_ptr<UcxTransport> t, UcxTransport::Create(rank, size, options.name));
  OGAI_ASSIGN_OR_RETURN(std::vector<std::string> addrs, exchange(t->address()));
  OGAI_RETURN_IF_ERROR(t->Connect(addrs));
  return std::unique_ptr<ProcessGroup>(
      new UcxProcessGroup(rank, size, options, std::shared_ptr<UcxTransport>(std::move(t))));
}

AddressExchange StoreExchange(std::shared_ptr<store::Store> store, int rank, int size, const std::string& group,
                              std::chrono::milliseconds timeout) {
  return [store, rank, size, group, timeout](const std::string& mine) -> Result<std::vector<std::string>> {
    const char* rc = std::getenv("OGAI_RESTART_COUNT");
    const std::string prefix = "ucx/" + std::string(rc && *rc ? rc : "0") + "/" + group + "/addr/";
    OGAI_RETURN_IF_ERROR(store->Set(prefix + std::to_string(rank), mine));
    std::vector<std::string> keys;
    for (int r = 0; r < size; ++r) keys.push_back(prefix + std::to_string(r));
    Status st = store->Wait(keys, timeout);
    if (!st.ok()) {
      return st.WithContext("ucx bootstrap of group '" + group + "' (rank " + std::to_string(rank) + " of " +
                            std::to_string(size) + "): ranks did not publish their addresses; the key's last "
                            "number is the missing rank");
    }
    std::vector<std::string> out;
    for (int r = 0; r < size; ++r) {
      OGAI_ASSIGN_OR_RETURN(std::string a, store->Get(keys[static_cast<size_t>(r)], timeout));
      out.push_back(std::move(a));
    }
    return out;
  };
}

}  // namespace ogai::comm::ucx
