// StoreServer: one epoll thread that carries requests to a KvState and its answers back.
#include "store/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/knobs.h"
#include "core/log.h"
#include "proto/store.pb.h"
#include "store/auth.h"
#include "store/kv_state.h"
#include "store/session.h"
#include "store/wire.h"

namespace ogai::store {

using wire_internal::Clock;
namespace pb = ::ogai::store::wire;

namespace {

constexpr size_t kMaxOutboxBytes = 256u << 20;  // a client that stops reading is dropped
// After accept fails for want of descriptors (or memory), the listening socket is not
// watched for this long: the loop does not spin on a connection it cannot take.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);

enum class Stage { kHello, kAuth, kAuthed };

struct Client {
  uint64_t id = 0;
  int fd = -1;
  std::string peer;  // host:port, for debug lines
  std::string host;  // host only, for warnings (rate-limited by their text: core/log.h)
  std::string inbox;
  std::string outbox;
  size_t out_off = 0;
  Stage stage = Stage::kHello;
  bool authed = false;
  wire_internal::ServerHandshake hs;
  wire_internal::FrameMac mac;
  bool close_after_flush = false;
  bool want_write = false;
  bool dead = false;  // to be dropped by the event loop
};

std::pair<std::string, std::string> PeerName(const sockaddr_storage& ss) {
  char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";
  ::getnameinfo(reinterpret_cast<const sockaddr*>(&ss), sizeof(ss), host, sizeof(host), serv, sizeof(serv),
                NI_NUMERICHOST | NI_NUMERICSERV);
  return {std::string(host) + ":" + serv, host};
}

int OpenSpareFd() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

}  // namespace

StoreServerLimits StoreServerLimits::FromKnobs() {
  StoreServerLimits l;
  if (auto v = KnobInt("OGAI_STORE_MAX_CONNECTIONS"); v && *v > 0) l.max_connections = static_cast<int>(*v);
  if (auto v = KnobInt("OGAI_STORE_MAX_PENDING"); v && *v > 0) l.max_pending = static_cast<int>(*v);
  if (auto v = KnobInt("OGAI_STORE_AUTH_TIMEOUT_MS"); v && *v > 0) l.auth_timeout = std::chrono::milliseconds(*v);
  return l;
}

class StoreServer::Impl {
 public:
  Impl(int listen_fd, int event_fd, int epoll_fd, int port, std::string token, StoreServerLimits limits)
      : listen_fd_(listen_fd),
        event_fd_(event_fd),
        epoll_fd_(epoll_fd),
        port_(port),
        token_(std::move(token)),
        limits_(limits),
        spare_fd_(OpenSpareFd()) {}

  ~Impl() { Stop(); }

  void StartThread() {
    thread_ = std::thread([this] { Loop(); });
  }

  void Stop() {
    std::lock_guard<std::mutex> lk(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    stop_.store(true);
    uint64_t one = 1;
    ssize_t w = ::write(event_fd_, &one, sizeof(one));
    (void)w;
    if (thread_.joinable()) thread_.join();
    for (auto& [id, c] : clients_) ::close(c.fd);
    clients_.clear();
    ::close(listen_fd_);
    ::close(event_fd_);
    ::close(epoll_fd_);
    if (spare_fd_ >= 0) ::close(spare_fd_);
  }

  int port() const { return port_; }
  int num_clients() const { return num_clients_.load(); }
  int num_pending() const { return num_pending_.load(); }
  int waiter_count() const { return num_waiters_.load(); }

 private:
  void Loop() {
    std::vector<epoll_event> events(512);
    while (!stop_.load()) {
      int timeout_ms = NextTimeoutMs();
      int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        OGAI_LOG(Error) << "store server: epoll_wait: " << std::strerror(errno);
        break;
      }
      for (int i = 0; i < n; ++i) {
        uint64_t tag = events[i].data.u64;
        if (tag == kListenTag) {
          AcceptAll();
        } else if (tag == kEventTag) {
          // Stop request; the loop condition ends the thread.
        } else {
          auto it = clients_.find(tag);
          if (it == clients_.end() || it->second.dead) continue;
          Client& c = it->second;
          bool alive = true;
          if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) alive = ReadFrom(c);
          if (alive && (events[i].events & EPOLLOUT)) alive = Flush(c);
          if (!alive) it->second.dead = true;
        }
      }
      ExpireWaiters();
      ExpirePending();
      ResumeAccept();
      SweepDead();
    }
  }

  int NextTimeoutMs() {
    std::optional<Clock::time_point> deadline = state_.NextDeadline();
    auto earliest = [&deadline](Clock::time_point t) {
      if (!deadline || t < *deadline) deadline = t;
    };
    while (!pending_.empty() && !IsPending(pending_.front().second)) pending_.pop_front();
    if (!pending_.empty()) earliest(pending_.front().first);
    if (accept_paused_) earliest(accept_resume_);
    if (!deadline) return -1;
    auto now = Clock::now();
    auto next = *deadline;
    if (next <= now) return 0;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
    return static_cast<int>(std::min<int64_t>(ms, 1 << 30));
  }

  void AcceptAll() {
    for (;;) {
      sockaddr_storage ss{};
      socklen_t len = sizeof(ss);
      int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        const int err = errno;
        if ((err == EMFILE || err == ENFILE) && spare_fd_ >= 0) {
          // Take the waiting connection with the spare descriptor and close it, so that the
          // peer sees a refusal instead of hanging in the backlog.
          ::close(spare_fd_);
          const int shed = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (shed >= 0) ::close(shed);
          spare_fd_ = OpenSpareFd();
        }
        OGAI_LOG(Warn) << "store server: accept: " << std::strerror(err) << "; not accepting for "
                       << kAcceptPause.count() << " ms (raise the descriptor limit, ulimit -n)";
        PauseAccept();
        return;
      }
      if (static_cast<int>(clients_.size()) >= limits_.max_connections) {
        ::close(fd);
        OGAI_LOG(Warn) << "store server: " << limits_.max_connections
                       << " connections open (OGAI_STORE_MAX_CONNECTIONS); a new one was closed";
        continue;
      }
      if (num_pending_.load() >= limits_.max_pending) EvictOldestPending();
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      uint64_t id = next_client_id_++;
      Client c;
      c.id = id;
      c.fd = fd;
      std::tie(c.peer, c.host) = PeerName(ss);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = id;
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        ::close(fd);
        continue;
      }
      clients_.emplace(id, std::move(c));
      pending_.emplace_back(Clock::now() + limits_.auth_timeout, id);
      num_pending_.fetch_add(1);
      num_clients_.store(static_cast<int>(clients_.size()));
    }
  }

  void PauseAccept() {
    epoll_event ev{};
    ev.events = 0;
    ev.data.u64 = kListenTag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    accept_paused_ = true;
    accept_resume_ = Clock::now() + kAcceptPause;
  }

  void ResumeAccept() {
    if (!accept_paused_ || Clock::now() < accept_resume_) return;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenTag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    accept_paused_ = false;
    if (spare_fd_ < 0) spare_fd_ = OpenSpareFd();
  }

  bool IsPending(uint64_t id) const {
    auto it = clients_.find(id);
    return it != clients_.end() && !it->second.authed && !it->second.dead;
  }

  // Closes the oldest connection that has not authenticated yet (a new one needs its place).
  void EvictOldestPending() {
    while (!pending_.empty()) {
      const uint64_t id = pending_.front().second;
      pending_.pop_front();
      if (!IsPending(id)) continue;
      OGAI_LOG(Warn) << "store server: more than " << limits_.max_pending
                     << " connections waiting to authenticate (OGAI_STORE_MAX_PENDING); closing the oldest, from "
                     << clients_[id].host;
      DropClient(id);
      return;
    }
  }

  // Closes the connections that have not authenticated within auth_timeout.
  void ExpirePending() {
    const auto now = Clock::now();
    while (!pending_.empty() && pending_.front().first <= now) {
      const uint64_t id = pending_.front().second;
      pending_.pop_front();
      if (!IsPending(id)) continue;
      OGAI_LOG(Warn) << "store server: a client from " << clients_[id].host << " did not authenticate within "
                     << limits_.auth_timeout.count() << " ms; closed";
      DropClient(id);
    }
  }

  // Returns false when the client must be dropped.
  bool ReadFrom(Client& c) {
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
      if (n > 0) {
        c.inbox.append(buf, static_cast<size_t>(n));
        if (!ParseFrames(c) || c.dead) return false;
        continue;
      }
      if (n == 0) {
        if (!c.inbox.empty()) {
          OGAI_LOG(Warn) << "store server: a client from " << c.host << " disconnected mid-message; dropped";
        }
        return false;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return !c.close_after_flush || Flush(c);
      return false;
    }
  }

  bool ParseFrames(Client& c) {
    size_t off = 0;
    bool ok = true;
    while (c.inbox.size() - off >= wire_internal::kFrameHeaderBytes) {
      uint32_t len = 0;
      const uint32_t max = c.authed ? wire_internal::kMaxFrameBytes + static_cast<uint32_t>(wire_internal::kMacBytes)
                                    : wire_internal::kMaxPreAuthFrameBytes;
      Status st = wire_internal::DecodeHeader(c.inbox.data() + off, max, &len);
      if (!st.ok()) {
        OGAI_LOG(Warn) << "store server: dropping a client from " << c.host << (c.authed ? "" : " (not authenticated)")
                       << ": " << st.message();
        return false;
      }
      if (c.inbox.size() - off < wire_internal::kFrameHeaderBytes + len) break;
      std::string_view body(c.inbox.data() + off + wire_internal::kFrameHeaderBytes, len);
      if (c.mac.active()) {
        if (Status m = c.mac.Open(body, &body); !m.ok()) {
          OGAI_LOG(Warn) << "store server: dropping a client from " << c.host << ": " << m.message();
          return false;
        }
      }
      pb::Request req;
      if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
        OGAI_LOG(Warn) << "store server: dropping a client from " << c.host << ": unparsable request";
        return false;
      }
      off += wire_internal::kFrameHeaderBytes + len;
      if (!Handle(c, req)) {
        ok = false;
        break;
      }
    }
    c.inbox.erase(0, off);
    return ok;
  }

  void Reply(Client& c, const pb::Response& resp) {
    std::string payload;
    resp.SerializeToString(&payload);
    if (c.mac.active()) payload = c.mac.Seal(std::move(payload));
    char hdr[wire_internal::kFrameHeaderBytes];
    wire_internal::EncodeHeader(static_cast<uint32_t>(payload.size()), hdr);
    c.outbox.append(hdr, sizeof(hdr));
    c.outbox.append(payload);
  }

  // Writes what it can. Returns false when the client must be dropped.
  bool Flush(Client& c) {
    while (c.out_off < c.outbox.size()) {
      ssize_t n = ::send(c.fd, c.outbox.data() + c.out_off, c.outbox.size() - c.out_off, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (c.outbox.size() - c.out_off > kMaxOutboxBytes) return false;
        SetWantWrite(c, true);
        return true;
      }
      return false;
    }
    c.outbox.clear();
    c.out_off = 0;
    SetWantWrite(c, false);
    return !c.close_after_flush;
  }

  void SetWantWrite(Client& c, bool on) {
    if (c.want_write == on) return;
    c.want_write = on;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (on ? static_cast<uint32_t>(EPOLLOUT) : 0u);
    ev.data.u64 = c.id;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void SweepDead() {
    std::vector<uint64_t> dead;
    for (auto& [id, c] : clients_) {
      if (c.dead) dead.push_back(id);
    }
    for (uint64_t id : dead) DropClient(id);
  }

  void DropClient(uint64_t id) {
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
    ::close(it->second.fd);
    if (!it->second.authed) num_pending_.fetch_sub(1);
    clients_.erase(it);
    state_.DropOwner(id);
    PublishWaiterCount();
    num_clients_.store(static_cast<int>(clients_.size()));
  }

  static pb::Response Error(uint64_t id, pb::ResponseCode code, const std::string& msg) {
    pb::Response r;
    r.set_id(id);
    r.set_code(code);
    r.set_message(msg);
    return r;
  }

  // Returns false when the client must be dropped right away.
  bool Handle(Client& c, const pb::Request& req) {
    const uint64_t id = req.id();
    if (!c.authed) return Authenticate(c, req);

    pb::Response r;
    r.set_id(id);
    KvState::Answers woken;
    switch (req.op_case()) {
      case pb::Request::kSet: {
        Status st = state_.Set(req.set().key(), req.set().value(), &woken);
        Reply(c, st.ok() ? r : Error(id, pb::INVALID_ARGUMENT, st.message()));
        Deliver(woken);
        break;
      }
      case pb::Request::kGet:
      case pb::Request::kWait: {
        KvState::WaitRequest w;
        w.owner = c.id;
        w.tag = id;
        if (req.op_case() == pb::Request::kGet) {
          w.is_get = true;
          w.keys.push_back(req.get().key());
          w.timeout_ms = req.get().timeout_ms();
        } else {
          w.keys.assign(req.wait().keys().begin(), req.wait().keys().end());
          w.timeout_ms = req.wait().timeout_ms();
        }
        std::optional<KvState::WaitAnswer> now = state_.Park(std::move(w), Clock::now());
        if (now) Reply(c, ToResponse(*now));
        PublishWaiterCount();
        break;
      }
      case pb::Request::kAdd: {
        Result<int64_t> sum = state_.Add(req.add().key(), req.add().delta(), &woken);
        if (!sum.ok()) {
          Reply(c, Error(id, pb::INVALID_ARGUMENT, sum.status().message()));
          break;
        }
        r.set_int_value(*sum);
        Reply(c, r);
        Deliver(woken);
        break;
      }
      case pb::Request::kCompareSet: {
        const auto& cs = req.compare_set();
        r.set_value(state_.CompareSet(cs.key(), cs.expected(), cs.desired(), &woken));
        Deliver(woken);  // the woken waiters' answers go out before this reply, as always
        Reply(c, r);
        break;
      }
      case pb::Request::kDel:
        r.set_found(state_.Delete(req.del().key()));
        Reply(c, r);
        break;
      case pb::Request::kTryGet: {
        std::optional<std::string> v = state_.TryGet(req.try_get().key());
        if (v) {
          r.set_found(true);
          r.set_value(*v);
        }
        Reply(c, r);
        break;
      }
      case pb::Request::kListKeys:
        for (std::string& k : state_.ListKeys(req.list_keys().prefix())) r.add_keys(std::move(k));
        Reply(c, r);
        break;
      case pb::Request::kHello:
      case pb::Request::kAuth:
        Reply(c, Error(id, pb::INVALID_ARGUMENT, "this connection is already authenticated"));
        break;
      default: Reply(c, Error(id, pb::INVALID_ARGUMENT, "unknown store request")); break;
    }
    return Flush(c);
  }

  // Refuses `c` with one error response, then closes it.
  bool Refuse(Client& c, const pb::Response& error) {
    Reply(c, error);
    c.close_after_flush = true;
    return Flush(c);
  }

  // The handshake (store/auth.h, the steps in session.h): Hello, then Auth. Returns false to
  // drop the client.
  bool Authenticate(Client& c, const pb::Request& req) {
    pb::Response r;
    if (c.stage == Stage::kHello) {
      if (!wire_internal::AnswerHello(req, token_, &c.hs, &r)) return Refuse(c, r);
      Reply(c, r);
      c.stage = Stage::kAuth;
      return Flush(c);
    }
    if (!wire_internal::CheckAuth(req, token_, c.hs, &r, &c.mac)) {
      if (req.op_case() == pb::Request::kAuth) {
        OGAI_LOG(Warn) << "store server: a client from " << c.host << " does not hold the job token; refused";
      }
      return Refuse(c, r);
    }
    c.authed = true;
    c.stage = Stage::kAuthed;
    num_pending_.fetch_sub(1);
    Reply(c, r);  // the first message with a MAC
    return Flush(c);
  }

  static pb::Response ToResponse(const KvState::WaitAnswer& a) {
    if (!a.status.ok()) {
      pb::Response r = Error(a.tag, pb::TIMEOUT, a.status.message());
      for (const auto& k : a.missing) r.add_keys(k);
      return r;
    }
    pb::Response r;
    r.set_id(a.tag);
    r.set_value(a.value);
    return r;
  }

  // Queues each answer on its client (gone or dying clients get none) and flushes them.
  void Deliver(const KvState::Answers& answers) {
    PublishWaiterCount();  // before any answer leaves, so a client that has one sees the count
    std::vector<uint64_t> to_flush;
    for (const auto& a : answers) {
      auto it = clients_.find(a.owner);
      if (it == clients_.end() || it->second.dead) continue;
      Reply(it->second, ToResponse(a));
      to_flush.push_back(a.owner);
    }
    FlushClients(to_flush);
  }

  void ExpireWaiters() {
    KvState::Answers expired;
    state_.Expire(Clock::now(), &expired);
    Deliver(expired);
  }

  void PublishWaiterCount() { num_waiters_.store(state_.WaiterCount()); }

  void FlushClients(const std::vector<uint64_t>& ids) {
    for (uint64_t id : ids) {
      auto it = clients_.find(id);
      if (it != clients_.end() && !it->second.dead && !Flush(it->second)) it->second.dead = true;
    }
  }

  static constexpr uint64_t kListenTag = ~0ull;
  static constexpr uint64_t kEventTag = ~0ull - 1;

  int listen_fd_, event_fd_, epoll_fd_, port_;
  std::string token_;
  StoreServerLimits limits_;
  int spare_fd_ = -1;  // given up to shed a connection when descriptors run out
  bool accept_paused_ = false;
  Clock::time_point accept_resume_;
  std::deque<std::pair<Clock::time_point, uint64_t>> pending_;  // auth deadlines, in accept order
  std::atomic<int> num_pending_{0};
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex stop_mu_;
  bool stopped_ = false;
  std::atomic<int> num_clients_{0};
  std::atomic<int> num_waiters_{0};  // state_.WaiterCount(), published for other threads
  uint64_t next_client_id_ = 1;
  std::unordered_map<uint64_t, Client> clients_;
  KvState state_;  // touched by the loop thread only

  friend class StoreServer;
};

Result<std::unique_ptr<StoreServer>> StoreServer::Start(const std::string& bind_host, int port,
                                                        const std::string& token, const StoreServerLimits& limits) {
  if (port < 0 || port > 65535) return InvalidArgument("store port out of range: " + std::to_string(port));
  if (token.empty()) return InvalidArgument("the store token must not be empty");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  std::string port_s = std::to_string(port);
  int rc = ::getaddrinfo(bind_host.empty() ? nullptr : bind_host.c_str(), port_s.c_str(), &hints, &res);
  if (rc != 0) {
    return InvalidArgument("cannot resolve store bind address '" + bind_host + "': " + gai_strerror(rc));
  }
  int fd = -1;
  int err = 0;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 4096) != 0) {
      err = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  const std::string where = bind_host + ":" + std::to_string(port);
  if (fd < 0) {
    if (err == EADDRINUSE) {
      return Unavailable("store cannot listen on " + where +
                         ": the port is in use; pick another port or pass 0 for a free one");
    }
    return Unavailable("store cannot listen on " + where + ": " + std::strerror(err));
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  int bound_port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                            : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (efd < 0 || epfd < 0) {
    int e = errno;
    ::close(fd);
    if (efd >= 0) ::close(efd);
    if (epfd >= 0) ::close(epfd);
    return ErrnoError("store server setup", e);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = Impl::kListenTag;
  ::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  ev.data.u64 = Impl::kEventTag;
  ::epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev);
  auto impl = std::make_unique<Impl>(fd, efd, epfd, bound_port, token, limits);
  impl->StartThread();
  OGAI_LOG(Info) << "store server listening on " << bind_host << ":" << bound_port;
  return std::unique_ptr<StoreServer>(new StoreServer(std::move(impl)));
}

StoreServer::StoreServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StoreServer::~StoreServer() { Stop(); }
int StoreServer::port() const { return impl_->port(); }
int StoreServer::num_clients() const { return impl_->num_clients(); }
int StoreServer::num_pending() const { return impl_->num_pending(); }
int StoreServer::WaiterCount() const { return impl_->waiter_count(); }
void StoreServer::Stop() {
  if (impl_) impl_->Stop();
}

}  // namespace ogai::store
