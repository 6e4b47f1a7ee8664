// UcxTransport: one UCP worker plus an endpoint per peer, for one process group
// (internal to the ucx backend).
//
// Tagged messages carry (kind, source rank, payload) in the 64-bit tag, because UCP tag
// matching ignores the sender:
//   bits 63..60 kind (collective, p2p, bootstrap, probe, probe reply)
//   bits 59..40 source rank in the group
//   bits 39..0  kind-specific: collectives use (sequence number << 20 | message index).
// The worker runs in UCS_THREAD_MODE_MULTI: the progress thread drives collectives while a
// caller may post a point-to-point message from its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ucp/api/ucp.h>

#include "comm/progress_engine.h"
#include "core/status.h"

namespace ogai::comm::ucx {

enum class TagKind : uint64_t { kColl = 1, kP2p = 2, kBoot = 3, kProbe = 4, kProbeReply = 5 };

constexpr uint64_t kTagSrcShift = 40;
constexpr uint64_t kTagKindShift = 60;
constexpr uint64_t kMaxRanks = 1u << 20;

inline uint64_t MakeTag(TagKind kind, int src, uint64_t payload) {
  return (static_cast<uint64_t>(kind) << kTagKindShift) | (static_cast<uint64_t>(src) << kTagSrcShift) |
         (payload & ((1ull << kTagSrcShift) - 1));
}
inline uint64_t CollTag(int src, uint64_t seq, uint64_t msg) {
  return MakeTag(TagKind::kColl, src, ((seq & 0xfffff) << 20) | (msg & 0xfffff));
}

// Process-wide UCP context (created on first use, shared by every group).
class UcxContext {
 public:
  static Result<std::shared_ptr<UcxContext>> Get();
  ~UcxContext();
  ucp_context_h handle() const { return ctx_; }

 private:
  ucp_context_h ctx_ = nullptr;
};

// One outstanding send or receive.
struct Req {
  void* handle = nullptr;  // UCP request, nullptr when completed immediately
  int peer = -1;
  bool is_send = false;
  bool done = true;
  size_t expect_bytes = 0;
  ucs_status_t status = UCS_OK;
};

class UcxTransport {
 public:
  // Creates the worker; call Connect() with every member's address next.
  static Result<std::unique_ptr<UcxTransport>> Create(int rank, int size, std::string group);
  ~UcxTransport();

  const std::string& address() const { return address_; }
  // The worker's address with network devices only: what peers on other nodes connect to.
  const std::string& net_address() const { return net_address_; }
  // Creates endpoints to every member; addresses[i] is member i's address().
  Status Connect(const std::vector<std::string>& addresses);

  // The transports of the endpoint to `peer` as UCX chose them, e.g. "tcp/eth0" or
  // "posix/memory,cma/memory,sysv/memory"; "self" for this rank; "" before Connect.
  std::string PeerTransports(int peer) const;

  int rank() const { return rank_; }
  int size() const { return size_; }
  ucp_worker_h worker() const { return worker_; }
  int event_fd() const { return efd_; }

  Status Isend(int peer, uint64_t tag, const void* buf, size_t bytes, Req* r);
  Status Irecv(int peer, uint64_t tag, void* buf, size_t bytes, Req* r);
  // Checks r (after progress); returns true when finished. Frees the UCP request.
  bool Check(Req* r);
  // Cancels an unfinished request (after a timeout or abort).
  void Cancel(Req* r);
  // One round of ucp_worker_progress plus answering probes. Thread-safe.
  void Progress();
  // Arms the worker for event_fd(); false when there are events to progress first.
  bool Arm();

  // Waits for all of reqs; fails on the op's deadline or abort, naming the op. `op` is
  // "allreduce" etc. On timeout it asks every member how far it got (Diagnose) so the
  // error names the ranks that did not arrive.
  Status WaitAll(Req* reqs, size_t n, const detail::OpContext& ctx, const char* op);
  // Called by wait loops when a round made no progress: yields, and when nobody waits for
  // the operation (!ctx.hot()) eventually sleeps on the event fd.
  void IdleBackoff(const detail::OpContext& ctx, int* idle_rounds);
  // The error for an operation past its deadline (kTimeout, with Diagnose()) or aborted.
  Status FailOp(const detail::OpContext& ctx, const char* op);
  // Waits for one p2p/bootstrap request until deadline.
  Status WaitOne(Req* r, detail::Clock::time_point deadline, const std::atomic<bool>* abort, const std::string& what);

  // Answers probes with this value (the group's number of started collectives).
  void SetProgressCounter(std::function<uint64_t()> f) { counter_ = std::move(f); }
  // Asks every other member how many collectives it has started; returns a description
  // of the members that have not reached collective `seq` or did not answer.
  std::string Diagnose(uint64_t seq, std::chrono::milliseconds window);

  // Per-peer sequence counters for point-to-point and bootstrap tags.
  uint64_t NextSendSeq(int peer, int tag);
  uint64_t NextRecvSeq(int peer, int tag);

 private:
  UcxTransport(int rank, int size, std::string group) : rank_(rank), size_(size), group_(std::move(group)) {}
  void PostProbeRecv();
  void ServiceProbes();

  int rank_, size_;
  std::string group_;
  std::shared_ptr<UcxContext> ctx_;
  ucp_worker_h worker_ = nullptr;
  int efd_ = -1;
  std::string address_, net_address_;
  std::vector<ucp_ep_h> eps_;
  std::function<uint64_t()> counter_;

  std::mutex probe_mu_;
  uint64_t probe_buf_[2] = {0, 0};
  Req probe_req_;
  std::vector<std::unique_ptr<uint64_t[]>> probe_replies_;  // kept alive until sent
  std::vector<Req> probe_reply_reqs_;

  std::mutex seq_mu_;
  std::vector<std::vector<std::pair<int, uint64_t>>> send_seq_, recv_seq_;
};

// Turns a UCS status into an ogai Status.
Status UcsError(const std::string& what, ucs_status_t st);

}  // namespace ogai::comm::ucx
