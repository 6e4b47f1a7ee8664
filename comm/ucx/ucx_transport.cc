#include "comm/ucx/ucx_transport.h"

#include <poll.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "core/log.h"

namespace ogai::comm::ucx {

using detail::Clock;

Status UcsError(const std::string& what, ucs_status_t st) { return Unavailable(what + ": " + ucs_status_string(st)); }

Result<std::shared_ptr<UcxContext>> UcxContext::Get() {
  static std::mutex mu;
  static std::weak_ptr<UcxContext> cached;
  std::lock_guard<std::mutex> lk(mu);
  if (auto c = cached.lock()) return c;
  ucp_config_t* config = nullptr;
  ucs_status_t st = ucp_config_read(nullptr, nullptr, &config);
  if (st != UCS_OK) return UcsError("ucp_config_read (check the UCX_* environment variables)", st);
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED | UCP_PARAM_FIELD_NAME;
  params.features = UCP_FEATURE_TAG | UCP_FEATURE_WAKEUP;
  params.mt_workers_shared = 1;
  params.name = "ogai";
  auto ctx = std::shared_ptr<UcxContext>(new UcxContext());
  st = ucp_init(&params, config, &ctx->ctx_);
  ucp_config_release(config);
  if (st != UCS_OK) {
    return UcsError("ucp_init failed (is UCX installed and UCX_TLS valid for this machine?)", st);
  }
  cached = ctx;
  return ctx;
}

UcxContext::~UcxContext() {
  if (ctx_) ucp_cleanup(ctx_);
}

Result<std::unique_ptr<UcxTransport>> UcxTransport::Create(int rank, int size, std::string group) {
  if (size <= 0 || static_cast<uint64_t>(size) > kMaxRanks) {
    return InvalidArgument("ucx: group size " + std::to_string(size) + " out of range");
  }
  std::unique_ptr<UcxTransport> t(new UcxTransport(rank, size, std::move(group)));
  OGAI_ASSIGN_OR_RETURN(t->ctx_, UcxContext::Get());
  ucp_worker_params_t wp{};
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  wp.thread_mode = UCS_THREAD_MODE_MULTI;
  ucs_status_t st = ucp_worker_create(t->ctx_->handle(), &wp, &t->worker_);
  if (st != UCS_OK) return UcsError("ucp_worker_create", st);
  st = ucp_worker_get_efd(t->worker_, &t->efd_);
  if (st != UCS_OK) t->efd_ = -1;
  ucp_address_t* addr = nullptr;
  size_t len = 0;
  st = ucp_worker_get_address(t->worker_, &addr, &len);
  if (st != UCS_OK) return UcsError("ucp_worker_get_address", st);
  t->address_.assign(reinterpret_cast<const char*>(addr), len);
  ucp_worker_release_address(t->worker_, addr);
  // The address peers on other nodes connect to: network devices only, so their endpoint
  // can never pick shared memory or cross-memory attach (nodes that are namespaces of one
  // kernel would otherwise reach each other that way).
  ucp_worker_attr_t wa{};
  wa.field_mask = UCP_WORKER_ATTR_FIELD_ADDRESS | UCP_WORKER_ATTR_FIELD_ADDRESS_FLAGS;
  wa.address_flags = UCP_WORKER_ADDRESS_FLAG_NET_ONLY;
  st = ucp_worker_query(t->worker_, &wa);
  if (st != UCS_OK) return UcsError("ucp_worker_query (network-only address)", st);
  t->net_address_.assign(reinterpret_cast<const char*>(wa.address), wa.address_length);
  ucp_worker_release_address(t->worker_, wa.address);
  t->send_seq_.resize(static_cast<size_t>(size));
  t->recv_seq_.resize(static_cast<size_t>(size));
  return t;
}

Status UcxTransport::Connect(const std::vector<std::string>& addresses) {
  if (addresses.size() != static_cast<size_t>(size_)) return Internal("ucx: wrong address count");
  eps_.assign(static_cast<size_t>(size_), nullptr);
  for (int p = 0; p < size_; ++p) {
    ucp_ep_params_t ep{};
    ep.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE;
    ep.address = reinterpret_cast<const ucp_address_t*>(addresses[static_cast<size_t>(p)].data());
    ep.err_mode = UCP_ERR_HANDLING_MODE_NONE;
    ucs_status_t st = ucp_ep_create(worker_, &ep, &eps_[static_cast<size_t>(p)]);
    if (st != UCS_OK) {
      return UcsError("ucx: cannot create an endpoint to rank " + std::to_string(p) + " of group '" + group_ + "'", st);
    }
  }
  std::lock_guard<std::mutex> lk(probe_mu_);
  PostProbeRecv();
  return Status::Ok();
}

std::string UcxTransport::PeerTransports(int peer) const {
  if (peer == rank_) return "self";
  if (peer < 0 || static_cast<size_t>(peer) >= eps_.size() || eps_[static_cast<size_t>(peer)] == nullptr) return "";
  // UCX 1.13 has no query for an endpoint's transports; its lane table names them
  // ("lane[0]: 3:tcp/eth0.0 md[1] ..."). Collect the distinct tl/device names in order.
  char* text = nullptr;
  size_t len = 0;
  FILE* f = ::open_memstream(&text, &len);
  if (f == nullptr) return "";
  ucp_ep_print_info(eps_[static_cast<size_t>(peer)], f);
  std::fclose(f);
  std::string info(text, len);
  std::free(text);
  std::vector<std::string> seen;
  size_t pos = 0;
  while ((pos = info.find("lane[", pos)) != std::string::npos) {
    size_t colon = info.find(':', pos);
    size_t eol = info.find('\n', pos);
    pos = eol == std::string::npos ? info.size() : eol;
    if (colon == std::string::npos || colon > pos) continue;
    // " 3:tcp/eth0.0 md[1] ..." -> "tcp/eth0"
    size_t b = info.find(':', colon + 1);
    if (b == std::string::npos || b > pos) continue;
    size_t e = info.find_first_of(" \t", b + 1);
    std::string tl = info.substr(b + 1, (e == std::string::npos || e > pos ? pos : e) - b - 1);
    if (size_t dot = tl.rfind('.'); dot != std::string::npos && tl.find('/') != std::string::npos) tl.resize(dot);
    if (std::find(seen.begin(), seen.end(), tl) == seen.end()) seen.push_back(tl);
  }
  std::string out;
  for (const std::string& t : seen) out += (out.empty() ? "" : ",") + t;
  return out;
}

UcxTransport::~UcxTransport() {
  {
    std::lock_guard<std::mutex> lk(probe_mu_);
    if (!probe_req_.done) Cancel(&probe_req_);
    for (auto& r : probe_reply_reqs_) {
      if (!r.done) Cancel(&r);
    }
  }
  for (ucp_ep_h ep : eps_) {
    if (ep == nullptr) continue;
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    p.flags = UCP_EP_CLOSE_FLAG_FORCE;
    void* req = ucp_ep_close_nbx(ep, &p);
    if (UCS_PTR_IS_PTR(req)) {
      auto deadline = Clock::now() + std::chrono::seconds(2);
      while (ucp_request_check_status(req) == UCS_INPROGRESS && Clock::now() < deadline) {
        ucp_worker_progress(worker_);
      }
      ucp_request_free(req);
    }
  }
  if (worker_) ucp_worker_destroy(worker_);
}

Status UcxTransport::Isend(int peer, uint64_t tag, const void* buf, size_t bytes, Req* r) {
  r->peer = peer;
  r->is_send = true;
  r->expect_bytes = bytes;
  ucp_request_param_t p{};
  void* h = ucp_tag_send_nbx(eps_[static_cast<size_t>(peer)], buf, bytes, tag, &p);
  if (UCS_PTR_IS_ERR(h)) {
    r->done = true;
    r->status = UCS_PTR_STATUS(h);
    return UcsError("ucx send to rank " + std::to_string(peer) + " of group '" + group_ + "'", r->status);
  }
  r->handle = h;
  r->done = h == nullptr;
  r->status = UCS_OK;
  return Status::Ok();
}

Status UcxTransport::Irecv(int peer, uint64_t tag, void* buf, size_t bytes, Req* r) {
  r->peer = peer;
  r->is_send = false;
  r->expect_bytes = bytes;
  ucp_request_param_t p{};
  void* h = ucp_tag_recv_nbx(worker_, buf, bytes, tag, ~0ull, &p);
  if (UCS_PTR_IS_ERR(h)) {
    r->done = true;
    r->status = UCS_PTR_STATUS(h);
    return UcsError("ucx receive from rank " + std::to_string(peer), r->status);
  }
  r->handle = h;
  r->done = h == nullptr;
  r->status = UCS_OK;
  return Status::Ok();
}

bool UcxTransport::Check(Req* r) {
  if (r->done) return true;
  ucs_status_t st = ucp_request_check_status(r->handle);
  if (st == UCS_INPROGRESS) return false;
  if (!r->is_send && st == UCS_OK) {
    ucp_tag_recv_info_t info{};
    if (ucp_tag_recv_request_test(r->handle, &info) == UCS_OK && info.length != r->expect_bytes) {
      st = UCS_ERR_MESSAGE_TRUNCATED;
    }
  }
  r->status = st;
  ucp_request_free(r->handle);
  r->handle = nullptr;
  r->done = true;
  return true;
}

void UcxTransport::Cancel(Req* r) {
  if (r->done || r->handle == nullptr) return;
  ucp_request_cancel(worker_, r->handle);
  auto deadline = Clock::now() + std::chrono::milliseconds(200);
  while (ucp_request_check_status(r->handle) == UCS_INPROGRESS && Clock::now() < deadline) {
    ucp_worker_progress(worker_);
  }
  // A send to a dead peer may never complete; UCP keeps the request until the worker goes.
  if (ucp_request_check_status(r->handle) != UCS_INPROGRESS) ucp_request_free(r->handle);
  r->handle = nullptr;
  r->done = true;
  r->status = UCS_ERR_CANCELED;
}

void UcxTransport::Progress() {
  while (ucp_worker_progress(worker_) != 0) {
  }
  if (probe_mu_.try_lock()) {
    ServiceProbes();
    probe_mu_.unlock();
  }
}

bool UcxTransport::Arm() {
  if (efd_ < 0) return true;
  ucs_status_t st = ucp_worker_arm(worker_);
  return st != UCS_ERR_BUSY;
}

void UcxTransport::PostProbeRecv() {
  probe_req_ = Req{};
  ucp_request_param_t p{};
  void* h = ucp_tag_recv_nbx(worker_, probe_buf_, sizeof(probe_buf_),
                             static_cast<uint64_t>(TagKind::kProbe) << kTagKindShift, 0xfull << kTagKindShift, &p);
  if (UCS_PTR_IS_ERR(h)) return;
  probe_req_.handle = h;
  probe_req_.done = h == nullptr;
  probe_req_.expect_bytes = sizeof(probe_buf_);
}

void UcxTransport::ServiceProbes() {
  // Finished replies can go.
  for (size_t i = 0; i < probe_reply_reqs_.size();) {
    if (Check(&probe_reply_reqs_[i])) {
      probe_reply_reqs_.erase(probe_reply_reqs_.begin() + static_cast<long>(i));
      probe_replies_.erase(probe_replies_.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
  if (eps_.empty() || probe_req_.handle == nullptr || !Check(&probe_req_)) return;
  if (probe_req_.status == UCS_OK) {
    int asker = static_cast<int>(probe_buf_[1]);
    if (asker >= 0 && asker < size_) {
      auto reply = std::make_unique<uint64_t[]>(1);
      reply[0] = counter_ ? counter_() : 0;
      Req r;
      if (Isend(asker, MakeTag(TagKind::kProbeReply, rank_, 0), reply.get(), sizeof(uint64_t), &r).ok()) {
        probe_reply_reqs_.push_back(r);
        probe_replies_.push_back(std::move(reply));
      }
    }
  }
  PostProbeRecv();
}

std::string UcxTransport::Diagnose(uint64_t seq, std::chrono::milliseconds window) {
  std::vector<uint64_t> answers(static_cast<size_t>(size_), 0);
  std::vector<Req> sends(static_cast<size_t>(size_)), recvs(static_cast<size_t>(size_));
  uint64_t ask[2] = {seq, static_cast<uint64_t>(rank_)};
  for (int p = 0; p < size_; ++p) {
    if (p == rank_) continue;
    (void)Irecv(p, MakeTag(TagKind::kProbeReply, p, 0), &answers[static_cast<size_t>(p)], sizeof(uint64_t),
                &recvs[static_cast<size_t>(p)]);
    (void)Isend(p, MakeTag(TagKind::kProbe, rank_, 0), ask, sizeof(ask), &sends[static_cast<size_t>(p)]);
  }
  auto deadline = Clock::now() + window;
  for (;;) {
    Progress();
    bool all = true;
    for (int p = 0; p < size_; ++p) {
      if (p != rank_ && !Check(&recvs[static_cast<size_t>(p)])) all = false;
    }
    if (all || Clock::now() >= deadline) break;
  }
  std::vector<int> not_arrived, silent;
  std::ostringstream detail;
  for (int p = 0; p < size_; ++p) {
    if (p == rank_) continue;
    Req& r = recvs[static_cast<size_t>(p)];
    if (!r.done || r.status != UCS_OK) {
      Cancel(&r);
      silent.push_back(p);
    } else if (answers[static_cast<size_t>(p)] <= seq) {
      not_arrived.push_back(p);
      detail << "; rank " << p << " has started only " << answers[static_cast<size_t>(p)]
             << " collectives on this group";
    }
    Req& s = sends[static_cast<size_t>(p)];
    if (!Check(&s)) Cancel(&s);
  }
  auto list = [](const std::vector<int>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
  };
  std::ostringstream os;
  std::vector<int> missing = not_arrived;
  missing.insert(missing.end(), silent.begin(), silent.end());
  std::sort(missing.begin(), missing.end());
  if (missing.empty()) {
    os << "every rank has reached this collective; a peer is stuck or too slow";
  } else {
    os << "missing ranks " << list(missing);
    if (!not_arrived.empty()) os << " (" << list(not_arrived) << " never arrived at it" << detail.str() << ")";
    if (!silent.empty()) os << " (" << list(silent) << " did not answer: dead, hung, or not in this group)";
  }
  return os.str();
}

Status UcxTransport::WaitAll(Req* reqs, size_t n, const detail::OpContext& ctx, const char* op) {
  int idle_rounds = 0;
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < n; ++i) {
      if (!Check(&reqs[i])) {
        all = false;
        break;
      }
    }
    if (all) break;
    Progress();
    if (ctx.aborted() || Clock::now() >= ctx.deadline()) {
      for (size_t i = 0; i < n; ++i) Cancel(&reqs[i]);
      return FailOp(ctx, op);
    }
    // The progress thread does not spin for long: after a while it sleeps on the worker's
    // event fd (short timeout, so deadlines are still honoured).
    IdleBackoff(ctx, &idle_rounds);
  }
  for (size_t i = 0; i < n; ++i) {
    if (reqs[i].status != UCS_OK) {
      return UcsError(std::string(op) + " on group '" + group_ + "': transfer with rank " +
                          std::to_string(reqs[i].peer) + " failed",
                      reqs[i].status);
    }
  }
  return Status::Ok();
}

void UcxTransport::IdleBackoff(const detail::OpContext& ctx, int* idle_rounds) {
  ++*idle_rounds;
  if (*idle_rounds < 1000) return;
  if (!ctx.hot() && *idle_rounds > 4000) {
    // Nobody waits for this operation (it runs in the background while the caller
    // computes): stop spinning and sleep on the worker's event fd, for at most 100 us at a
    // time (shared-memory transports do not always signal the fd).
    if (efd_ < 0 || Arm()) {
      pollfd pfd{efd_, POLLIN, 0};
      timespec ts{0, 100000};
      ::ppoll(&pfd, efd_ >= 0 ? 1 : 0, &ts, nullptr);
    }
    *idle_rounds = 3000;
    return;
  }
  // Give the core to a peer process (oversubscribed node) or to the caller's compute.
  std::this_thread::yield();
}

Status UcxTransport::FailOp(const detail::OpContext& ctx, const char* op) {
  const std::string what = std::string(op) + " #" + std::to_string(ctx.seq) + " on group '" + group_ + "' (rank " +
                           std::to_string(rank_) + " of " + std::to_string(size_) + ")";
  if (ctx.aborted()) return Aborted(what + " aborted");
  return Timeout(what + " timed out: " + Diagnose(ctx.seq, std::chrono::milliseconds(300)));
}

Status UcxTransport::WaitOne(Req* r, Clock::time_point deadline, const std::atomic<bool>* abort,
                             const std::string& what) {
  int idle_rounds = 0;
  while (!Check(r)) {
    Progress();
    if (abort != nullptr && abort->load()) {
      Cancel(r);
      return Aborted(what + " aborted");
    }
    if (Clock::now() >= deadline) {
      Cancel(r);
      return Timeout(what + " timed out waiting for rank " + std::to_string(r->peer) + " of group '" + group_ + "'");
    }
    if (++idle_rounds > 20000) {
      std::this_thread::yield();
      idle_rounds = 0;
    }
  }
  if (r->status != UCS_OK) return UcsError(what, r->status);
  return Status::Ok();
}

uint64_t UcxTransport::NextSendSeq(int peer, int tag) {
  std::lock_guard<std::mutex> lk(seq_mu_);
  auto& v = send_seq_[static_cast<size_t>(peer)];
  for (auto& [t, s] : v) {
    if (t == tag) return s++;
  }
  v.emplace_back(tag, 1);
  return 0;
}

uint64_t UcxTransport::NextRecvSeq(int peer, int tag) {
  std::lock_guard<std::mutex> lk(seq_mu_);
  auto& v = recv_seq_[static_cast<size_t>(peer)];
  for (auto& [t, s] : v) {
    if (t == tag) return s++;
  }
  v.emplace_back(tag, 1);
  return 0;
}

}  // namespace ogai::comm::ucx
