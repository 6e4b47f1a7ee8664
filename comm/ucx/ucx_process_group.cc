#include "comm/ucx/ucx_process_group.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "comm/progress_engine.h"
#include "comm/shm/shm_comm.h"
#include "comm/ucx/algorithms.h"
#include "comm/ucx/ucx_transport.h"
#include "core/knobs.h"
#include "core/log.h"

namespace ogai::comm::ucx {

using detail::Clock;

namespace {

constexpr int kBootTag = -1;                 // per-peer sequence space of bootstrap messages
constexpr uint64_t kBootstrapSeq = 0xfffff;  // collective tags of the set-up agreement

// What a member publishes at set-up: its UCX worker address (all devices, for members on
// its node), the same with network devices only (for members on other nodes), its node
// (shm::HostKey) and the name of its shared-memory segment ("" without one).
// Length-prefixed fields after a magic.
std::string EncodeHello(const std::string& ucx_addr, const std::string& net_addr, const std::string& host,
                        const std::string& shm_name) {
  std::string out = "OGH2";
  for (const std::string* f : {&ucx_addr, &net_addr, &host, &shm_name}) {
    uint32_t n = static_cast<uint32_t>(f->size());
    out.append(reinterpret_cast<const char*>(&n), sizeof(n));
    out += *f;
  }
  return out;
}

struct Hello {
  std::string ucx_addr, net_addr, host, shm_name;
};

Result<Hello> DecodeHello(const std::string& b, int rank) {
  Hello h;
  size_t pos = 4;
  if (b.compare(0, 4, "OGH2") != 0) {
    return InvalidArgument("ucx bootstrap: rank " + std::to_string(rank) +
                           " published an address of another ogai version");
  }
  for (std::string* f : {&h.ucx_addr, &h.net_addr, &h.host, &h.shm_name}) {
    uint32_t n = 0;
    if (pos + sizeof(n) > b.size())
      return InvalidArgument("ucx bootstrap: truncated address of rank " + std::to_string(rank));
    std::memcpy(&n, b.data() + pos, sizeof(n));
    pos += sizeof(n);
    if (pos + n > b.size()) return InvalidArgument("ucx bootstrap: truncated address of rank " + std::to_string(rank));
    f->assign(b, pos, n);
    pos += n;
  }
  return h;
}

bool ShmEnabled() { return KnobFlag("OGAI_UCX_SHM", true); }

// Whether every member managed to attach every segment (a min over the group, through UCX,
// before the group's engine exists).
Result<bool> AgreeAll(UcxTransport* t, bool mine, std::chrono::milliseconds timeout) {
  std::atomic<bool> never{false};
  detail::OpContext ctx;
  ctx.timeout = timeout;
  ctx.abort = &never;
  ctx.on_caller_thread = true;
  ctx.seq = kBootstrapSeq;
  AlgoTuning tuning;
  Scratch s1, s2;
  CollArgs a{t, &ctx, &tuning, &s1, &s2, nullptr};
  float v = mine ? 1.f : 0.f, all = 0.f;
  OGAI_RETURN_IF_ERROR(ucx::AllReduce(a, &v, &all, 1, DataType::kFloat32, ReduceOp::kMin));
  return all > 0.5f;
}

// The shared-memory path reports a deadline or abort briefly; the UCX side says which
// ranks are missing.
Status ShmStatus(const CollArgs& a, const char* op, Status st) {
  if (st.code() == Code::kTimeout || st.code() == Code::kAborted) return a.t->FailOp(*a.ctx, op);
  return st;
}

// A posted point-to-point message.
class P2pWork final : public Work {
 public:
  P2pWork(std::shared_ptr<UcxTransport> t, Req req, std::string what, std::chrono::milliseconds timeout)
      : t_(std::move(t)), req_(req), what_(std::move(what)), deadline_(Clock::now() + timeout) {}

  Status Wait(std::chrono::milliseconds timeout) override {
    std::lock_guard<std::mutex> lk(mu_);
    if (finished_) return status_;
    auto wait_deadline =
        timeout >= std::chrono::hours(24 * 365) ? deadline_ : std::min(deadline_, Clock::now() + timeout);
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
  UcxProcessGroup(int rank, int size, const ProcessGroupOptions& o, std::shared_ptr<UcxTransport> t,
                  std::unique_ptr<shm::ShmComm> shm, std::vector<bool> same_node, std::vector<int> run_of)
      : ProcessGroup(rank, size, o),
        t_(std::move(t)),
        tuning_(AlgoTuning::FromEnv()),
        shm_(std::move(shm)),
        same_node_(std::move(same_node)),
        run_of_(std::move(run_of)) {
    detail::EngineHooks hooks;
    UcxTransport* raw = t_.get();
    hooks.poll = [raw] { raw->Progress(); };
    if (shm_) shm_->SetIdleHook([raw] { raw->Progress(); });
    engine_ =
        std::make_unique<detail::ProgressEngine>(o.name, o.timeout, std::move(hooks), detail::EngineTuning::FromEnv());
    detail::ProgressEngine* eng = engine_.get();
    t_->SetProgressCounter([eng] { return eng->collectives_started(); });
  }

  ~UcxProcessGroup() override {
    engine_->Shutdown();
    t_->SetProgressCounter(nullptr);
  }

  const char* backend() const override { return "ucx"; }
  std::string TransportTo(int peer) const override {
    if (peer < 0 || peer >= size()) return "";
    if (peer == rank()) return "self";
    std::string s = "ucx:" + t_->PeerTransports(peer);
    s += same_node_[static_cast<size_t>(peer)] ? " (same node" : " (other node";
    if (shm_) s += "; collectives through ogai shared memory";
    if (!run_of_.empty()) s += "; all-reduce by the fold chain across nodes";
    return s + ")";
  }

 protected:
  WorkPtr DoAllReduce(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) override {
    return Submit("allreduce", count * DataTypeSize(dtype), [=, this](const CollArgs& a) {
      if (a.shm) return ShmStatus(a, "allreduce", a.shm->AllReduce(*a.ctx, send, recv, count, dtype, op));
      if (!run_of_.empty()) return FoldChainAllReduce(a, run_of_, send, recv, count, dtype, op);
      return ucx::AllReduce(a, send, recv, count, dtype, op);
    });
  }
  WorkPtr DoReduceScatter(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) override {
    return Submit("reducescatter", count * DataTypeSize(dtype) * static_cast<size_t>(size()),
                  [=, this](const CollArgs& a) {
                    if (a.shm)
                      return ShmStatus(a, "reducescatter", a.shm->ReduceScatter(*a.ctx, send, recv, count, dtype, op));
                    if (!run_of_.empty()) return FoldChainReduceScatter(a, run_of_, send, recv, count, dtype, op);
                    return ucx::ReduceScatter(a, send, recv, count, dtype, op);
                  });
  }
  WorkPtr DoAllGather(const void* send, void* recv, size_t count, DataType dtype) override {
    return Submit("allgather", count * DataTypeSize(dtype) * static_cast<size_t>(size()), [=](const CollArgs& a) {
      if (a.shm) return ShmStatus(a, "allgather", a.shm->AllGather(*a.ctx, send, recv, count, dtype));
      return ucx::AllGather(a, send, recv, count, dtype);
    });
  }
  WorkPtr DoBroadcast(void* buf, size_t count, DataType dtype, int root) override {
    return Submit("broadcast", count * DataTypeSize(dtype), [=](const CollArgs& a) {
      if (a.shm) return ShmStatus(a, "broadcast", a.shm->Broadcast(*a.ctx, buf, count, dtype, root));
      return ucx::Broadcast(a, buf, count, dtype, root);
    });
  }
  WorkPtr DoBarrier() override {
    return Submit("barrier", 0, [](const CollArgs& a) {
      if (a.shm) return ShmStatus(a, "barrier", a.shm->Barrier(*a.ctx));
      return ucx::Barrier(a);
    });
  }

  WorkPtr DoSend(const void* buf, size_t count, DataType dtype, int dst, int tag) override {
    if (Status b = engine_->broken(); !b.ok())
      return MakeCompletedWork(Aborted("send on group '" + name() + "': " + b.message()));
    uint64_t seq = t_->NextSendSeq(dst, tag);
    Req req;
    Status st = t_->Isend(dst, MakeTag(TagKind::kP2p, rank(), (static_cast<uint64_t>(tag) << 24) | (seq & 0xffffff)),
                          buf, count * DataTypeSize(dtype), &req);
    if (!st.ok()) return MakeCompletedWork(st);
    return std::make_shared<P2pWork>(
        t_, req, "send to rank " + std::to_string(dst) + " (tag " + std::to_string(tag) + ")", timeout());
  }
  WorkPtr DoRecv(void* buf, size_t count, DataType dtype, int src, int tag) override {
    uint64_t seq = t_->NextRecvSeq(src, tag);
    Req req;
    Status st = t_->Irecv(src, MakeTag(TagKind::kP2p, src, (static_cast<uint64_t>(tag) << 24) | (seq & 0xffffff)), buf,
                          count * DataTypeSize(dtype), &req);
    if (!st.ok()) return MakeCompletedWork(st);
    return std::make_shared<P2pWork>(
        t_, req, "receive from rank " + std::to_string(src) + " (tag " + std::to_string(tag) + ")", timeout());
  }

  Result<std::unique_ptr<ProcessGroup>> DoNewGroup(const std::vector<int>& ranks, int my,
                                                   const ProcessGroupOptions& o) override {
    auto parent = t_;
    auto deadline = Clock::now() + timeout();
    const int parent_rank = rank();
    const std::string name = o.name;
    AddressExchange exchange = [parent, ranks, my, deadline, parent_rank,
                                name](const std::string& mine) -> Result<std::vector<std::string>> {
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
        OGAI_RETURN_IF_ERROR(
            parent->Irecv(p, MakeTag(TagKind::kBoot, p, parent->NextRecvSeq(p, kBootTag)), &lens[j], 8, &rl[j]));
        sends.emplace_back();
        OGAI_RETURN_IF_ERROR(parent->Isend(p, MakeTag(TagKind::kBoot, parent_rank, parent->NextSendSeq(p, kBootTag)),
                                           &my_len, 8, &sends.back()));
      }
      const std::string what = "NewGroup '" + name + "' address exchange";
      for (size_t j = 0; j < n; ++j) {
        if (static_cast<int>(j) == my) continue;
        OGAI_RETURN_IF_ERROR(parent->WaitOne(&rl[j], deadline, nullptr, what));
        out[j].resize(lens[j]);
        OGAI_RETURN_IF_ERROR(parent->Irecv(ranks[j],
                                           MakeTag(TagKind::kBoot, ranks[j], parent->NextRecvSeq(ranks[j], kBootTag)),
                                           out[j].data(), lens[j], &rl[j]));
        sends.emplace_back();
        OGAI_RETURN_IF_ERROR(
            parent->Isend(ranks[j], MakeTag(TagKind::kBoot, parent_rank, parent->NextSendSeq(ranks[j], kBootTag)),
                          mine.data(), mine.size(), &sends.back()));
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
  template <typename F>
  WorkPtr Submit(const char* op, size_t bytes, F fn) {
    return engine_->Submit(op, bytes, true, [this, fn](const detail::OpContext& ctx) {
      CollArgs a{t_.get(), &ctx, &tuning_, &scratch_, &ring_tmp_, shm_.get()};
      return fn(a);
    });
  }

  std::shared_ptr<UcxTransport> t_;
  AlgoTuning tuning_;
  Scratch scratch_, ring_tmp_;
  std::unique_ptr<shm::ShmComm> shm_;
  std::vector<bool> same_node_;
  std::vector<int> run_of_;  // node of each rank when the fold chain is used; empty otherwise
  std::unique_ptr<detail::ProgressEngine> engine_;
};

}  // namespace

Result<std::unique_ptr<ProcessGroup>> CreateUcxProcessGroup(int rank, int size, const ProcessGroupOptions& options,
                                                            const AddressExchange& exchange) {
  if (rank < 0 || rank >= size) {
    return InvalidArgument("ucx: rank " + std::to_string(rank) + " outside world size " + std::to_string(size));
  }
  OGAI_ASSIGN_OR_RETURN(std::unique_ptr<UcxTransport> t, UcxTransport::Create(rank, size, options.name));
  // Members on one node share memory for their collectives (shm_comm.h); UCX carries
  // point-to-point messages, probes and every collective of a group that spans nodes.
  std::unique_ptr<shm::ShmComm> shm;
  if (size > 1 && ShmEnabled()) {
    auto s = shm::ShmComm::Create(rank, size, shm::ShmTuning::FromEnv(size, options.local_world_size));
    if (s.ok()) {
      shm = std::move(*s);
    } else {
      OGAI_LOG(Warn) << "group '" << options.name << "': no shared-memory collectives: " << s.status().ToString();
    }
  }
  const std::string host = shm::HostKey();
  OGAI_ASSIGN_OR_RETURN(std::vector<std::string> hellos,
                        exchange(EncodeHello(t->address(), t->net_address(), host, shm ? shm->segment_name() : "")));
  if (hellos.size() != static_cast<size_t>(size)) return Internal("ucx bootstrap: wrong number of addresses");
  std::vector<std::string> addrs, names;
  std::vector<bool> same_node;
  std::vector<std::string> hosts;
  bool one_node = true;
  for (int r = 0; r < size; ++r) {
    OGAI_ASSIGN_OR_RETURN(Hello h, DecodeHello(hellos[static_cast<size_t>(r)], r));
    const bool same = h.host == host;
    one_node = one_node && same && !h.shm_name.empty();
    same_node.push_back(same);
    hosts.push_back(h.host);
    // A member on another node gets only our network devices: never shared memory or
    // cross-memory attach, even when the "nodes" are namespaces of one kernel.
    addrs.push_back(same ? std::move(h.ucx_addr) : std::move(h.net_addr));
    names.push_back(std::move(h.shm_name));
  }
  OGAI_RETURN_IF_ERROR(t->Connect(addrs));
  // Every member sees the same hellos, so they agree on one_node; whether every attach
  // worked (another /dev/shm, say) needs one more round.
  if (shm && one_node) {
    Status at = shm->Attach(names);
    OGAI_ASSIGN_OR_RETURN(bool all, AgreeAll(t.get(), at.ok(), options.timeout));
    if (!at.ok()) {
      OGAI_LOG(Warn) << "group '" << options.name << "': no shared-memory collectives: " << at.ToString();
    }
    if (all) {
      shm->Unlink();  // every member has mapped it
    } else {
      shm.reset();
    }
  } else {
    shm.reset();
  }
  if (size > 1) {
    if (shm) {
      OGAI_LOG(Debug) << "group '" << options.name << "': collectives through shared memory";
    } else {
      OGAI_LOG(Debug) << "group '" << options.name << "': collectives through UCX messages";
    }
  }
  // A group that spans nodes reduces by the fold chain across nodes, unless forced flat.
  std::vector<int> run_of;
  const bool spans_nodes = std::any_of(same_node.begin(), same_node.end(), [](bool s) { return !s; });
  if (spans_nodes && !options.flat_collectives && !KnobFlag("OGAI_COMM_FLAT", false)) {
    for (int r = 0; r < size; ++r) {
      const bool new_run = r == 0 || hosts[static_cast<size_t>(r)] != hosts[static_cast<size_t>(r - 1)];
      run_of.push_back(r == 0 ? 0 : run_of.back() + (new_run ? 1 : 0));
    }
  }
  auto pg = std::unique_ptr<ProcessGroup>(new UcxProcessGroup(rank, size, options,
                                                              std::shared_ptr<UcxTransport>(std::move(t)),
                                                              std::move(shm), std::move(same_node), std::move(run_of)));
  if (size > 1 && LogEnabled(LogLevel::Info)) {  // ogai-run -v: how this rank reaches each peer
    std::string line;
    for (int r = 0; r < size; ++r) {
      if (r != rank) line += "\n  rank " + std::to_string(r) + ": " + pg->TransportTo(r);
    }
    OGAI_LOG(Info) << "group '" << options.name << "' rank " << rank << " of " << size << " transports:" << line;
  }
  return pg;
}

AddressExchange StoreExchange(std::shared_ptr<store::Store> store, const std::string& key_prefix, int rank, int size,
                              const std::string& group, std::chrono::milliseconds timeout) {
  return [store, key_prefix, rank, size, group, timeout](const std::string& mine) -> Result<std::vector<std::string>> {
    const std::string prefix = key_prefix + "ucx/" + group + "/addr/";
    OGAI_RETURN_IF_ERROR(store->Set(prefix + std::to_string(rank), mine));
    std::vector<std::string> keys;
    for (int r = 0; r < size; ++r) keys.push_back(prefix + std::to_string(r));
    Status st = store->Wait(keys, timeout);
    if (!st.ok()) {
      return st.WithContext("ucx bootstrap of group '" + group + "' (rank " + std::to_string(rank) + " of " +
                            std::to_string(size) +
                            "): ranks did not publish their addresses; the key's last "
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
