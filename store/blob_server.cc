// BlobServer: an accept thread and a thread per connection, blocking I/O with deadlines.
#include "store/blob_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/crc32c.h"
#include "core/log.h"
#include "proto/store.pb.h"
#include "store/session.h"
#include "store/wire.h"

namespace ogai::store {

using wire_internal::Clock;
namespace pb = ::ogai::store::wire;

namespace {

constexpr size_t kMaxNameBytes = 1024;
constexpr uint32_t kMaxRequestBytes = 4096;  // requests are small: the bytes travel outside them

std::string PeerHost(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  char host[NI_MAXHOST] = "?";
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    ::getnameinfo(reinterpret_cast<const sockaddr*>(&ss), len, host, sizeof(host), nullptr, 0, NI_NUMERICHOST);
  }
  return host;
}

uint64_t HalfOfPhysicalMemory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return uint64_t{8} << 30;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 2;
}

// A value's memory: anonymous pages, on huge pages where the kernel has them (one fault per
// 2 MiB instead of per 4 KiB: page faults are most of what receiving costs in a VM).
char* AllocBuffer(uint64_t n) {
  if (n == 0) return nullptr;
  void* p = ::mmap(nullptr, static_cast<size_t>(n), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  if (n >= (2u << 20)) (void)::madvise(p, static_cast<size_t>(n), MADV_HUGEPAGE);
  return static_cast<char*>(p);
}

void FreeBuffer(char* p, uint64_t n) {
  if (p != nullptr) ::munmap(p, static_cast<size_t>(n));
}

pb::Response Error(uint64_t id, pb::ResponseCode code, const std::string& msg) {
  pb::Response r;
  r.set_id(id);
  r.set_code(code);
  r.set_message(msg);
  return r;
}

}  // namespace

class BlobServer::Impl {
 public:
  Impl(int listen_fd, int wake_r, int wake_w, int port, std::string token, BlobServerLimits limits)
      : listen_fd_(listen_fd),
        wake_r_(wake_r),
        wake_w_(wake_w),
        port_(port),
        token_(std::move(token)),
        limits_(limits) {
    if (limits_.max_total_bytes == 0) limits_.max_total_bytes = HalfOfPhysicalMemory();
  }
  ~Impl() { Stop(); }

  void StartThread() {
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  void Stop() {
    std::lock_guard<std::mutex> lk(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    stop_.store(true);
    const char one = 1;
    (void)!::write(wake_w_, &one, 1);
    if (accept_thread_.joinable()) accept_thread_.join();
    {
      std::lock_guard<std::mutex> wl(workers_mu_);
      for (Worker& w : workers_) ::shutdown(w.fd, SHUT_RDWR);  // wakes a worker blocked in poll
    }
    for (Worker& w : workers_) {
      w.thread.join();
      ::close(w.fd);
    }
    workers_.clear();
    num_connections_.store(0);
    {
      std::lock_guard<std::mutex> vl(values_mu_);
      values_.clear();
    }
    ::close(listen_fd_);
    ::close(wake_r_);
    ::close(wake_w_);
  }

  int port() const { return port_; }
  int num_connections() const { return num_connections_.load(); }
  uint64_t bytes_held() const { return held_.load(); }
  int num_values() const {
    std::lock_guard<std::mutex> vl(values_mu_);
    return static_cast<int>(values_.size());
  }

 private:
  struct Value {
    Value(pb::BlobInfo i, char* d, std::atomic<uint64_t>* h) : info(std::move(i)), data(d), held(h) {}
    ~Value() {
      FreeBuffer(data, info.bytes());
      held->fetch_sub(info.bytes());
    }
    Value(const Value&) = delete;
    Value& operator=(const Value&) = delete;
    pb::BlobInfo info;
    char* data;
    std::atomic<uint64_t>* held;
  };

  struct Worker {
    std::thread thread;
    int fd = -1;
    std::atomic<bool> done{false};
  };

  void AcceptLoop() {
    while (!stop_.load()) {
      pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_r_, POLLIN, 0}};
      const int r = ::poll(p, 2, 1000);
      ReapFinished();
      if (r <= 0 || stop_.load() || !(p[0].revents & POLLIN)) {
        if (r < 0 && errno != EINTR) {
          OGAI_LOG(Error) << "blob server: poll: " << std::strerror(errno);
          return;
        }
        continue;
      }
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE) {
          OGAI_LOG(Warn) << "blob server: accept: " << std::strerror(errno)
                         << " (raise the descriptor limit, ulimit -n)";
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        continue;
      }
      if (num_connections_.load() >= limits_.max_connections) {
        OGAI_LOG(Warn) << "blob server: " << limits_.max_connections << " connections open; a new one from "
                       << PeerHost(fd) << " was closed";
        ::close(fd);
        continue;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      std::lock_guard<std::mutex> wl(workers_mu_);
      Worker& w = workers_.emplace_back();
      w.fd = fd;
      num_connections_.fetch_add(1);
      w.thread = std::thread([this, &w] {
        Serve(w.fd);
        ::shutdown(w.fd, SHUT_RDWR);  // the peer sees the end now; the descriptor is closed when reaped
        num_connections_.fetch_sub(1);
        w.done.store(true);
      });
    }
  }

  // Joins the threads of connections that ended and closes their sockets (only here and in
  // Stop, so a descriptor is never reused while Stop may still shut it down).
  void ReapFinished() {
    std::lock_guard<std::mutex> wl(workers_mu_);
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->done.load()) {
        it->thread.join();
        ::close(it->fd);
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // One connection: the handshake, then requests until it closes, errs or idles too long.
  void Serve(int fd) {
    const std::string host = PeerHost(fd);
    wire_internal::FrameMac mac;
    if (!Handshake(fd, host, &mac)) return;
    for (;;) {
      pb::Request req;
      Status st = wire_internal::ReadMessage(fd, &mac, kMaxRequestBytes, &req, Clock::now() + limits_.idle_timeout);
      if (!st.ok()) {
        // A client that closes between requests, or idles too long, is done; anything else is
        // worth a line.
        if (st.code() != Code::kUnavailable && st.code() != Code::kTimeout && !stop_.load()) {
          OGAI_LOG(Warn) << "blob server: dropping a client from " << host << ": " << st.message();
        }
        return;
      }
      bool keep = false;
      switch (req.op_case()) {
        case pb::Request::kBlobPut: keep = Put(fd, host, &mac, req); break;
        case pb::Request::kBlobGet: keep = Get(fd, host, &mac, req); break;
        default:
          (void)wire_internal::WriteMessage(
              fd, &mac, Error(req.id(), pb::INVALID_ARGUMENT, "a blob server only answers blob_put and blob_get"),
              Clock::now() + limits_.io_timeout);
          OGAI_LOG(Warn) << "blob server: dropping a client from " << host << ": not a blob request";
      }
      if (!keep) return;
    }
  }

  bool Handshake(int fd, const std::string& host, wire_internal::FrameMac* mac) {
    const auto deadline = Clock::now() + limits_.auth_timeout;
    wire_internal::ServerHandshake hs;
    pb::Request req;
    pb::Response r;
    Status st = wire_internal::ReadMessage(fd, nullptr, wire_internal::kMaxPreAuthFrameBytes, &req, deadline);
    if (st.ok()) {
      const bool ok = wire_internal::AnswerHello(req, token_, &hs, &r);
      st = wire_internal::WriteMessage(fd, nullptr, r, deadline);
      if (st.ok() && !ok) st = PermissionDenied(r.message());
    }
    if (st.ok()) st = wire_internal::ReadMessage(fd, nullptr, wire_internal::kMaxPreAuthFrameBytes, &req, deadline);
    if (st.ok()) {
      if (wire_internal::CheckAuth(req, token_, hs, &r, mac)) {
        st = wire_internal::WriteMessage(fd, mac, r, deadline);  // the first message with a MAC
      } else {
        (void)wire_internal::WriteMessage(fd, nullptr, r, deadline);
        st = PermissionDenied(r.message());
      }
    }
    if (!st.ok() && !stop_.load()) {
      OGAI_LOG(Warn) << "blob server: a client from " << host << " did not authenticate (" << st.message()
                     << "); closed";
    }
    return st.ok();
  }

  // Reserves `n` bytes under max_total_bytes; false when they do not fit.
  bool Reserve(uint64_t n) {
    uint64_t cur = held_.load();
    do {
      if (n > limits_.max_total_bytes || cur > limits_.max_total_bytes - n) return false;
    } while (!held_.compare_exchange_weak(cur, cur + n));
    return true;
  }

  bool Put(int fd, const std::string& host, wire_internal::FrameMac* mac, const pb::Request& req) {
    const pb::BlobInfo& info = req.blob_put().blob();
    const uint64_t id = req.id();
    auto refuse = [&](const std::string& why) {
      (void)wire_internal::WriteMessage(fd, mac, Error(id, pb::INVALID_ARGUMENT, why),
                                        Clock::now() + limits_.io_timeout);
      OGAI_LOG(Warn) << "blob server: refused a value from " << host << ": " << why;
      return false;
    };
    if (info.name().empty() || info.name().size() > kMaxNameBytes) {
      return refuse("a value's name must be 1 to " + std::to_string(kMaxNameBytes) + " bytes");
    }
    if (info.bytes() > limits_.max_value_bytes) {
      return refuse("value '" + info.name() + "' of " + std::to_string(info.bytes()) + " bytes exceeds the limit of " +
                    std::to_string(limits_.max_value_bytes) + " bytes per value");
    }
    // A put replaces the value of its name: the old one is gone from here on, and the new one
    // is there only once it has arrived whole. The old one's memory takes the new bytes when
    // the size is the same (a rank's shard keeps its size from one checkpoint to the next) and
    // nobody is reading it: no new pages to fault in and zero.
    std::shared_ptr<Value> value;
    {
      std::lock_guard<std::mutex> vl(values_mu_);
      auto it = values_.find(info.name());
      if (it != values_.end()) {
        if (it->second->info.bytes() == info.bytes() && it->second.use_count() == 1) value = std::move(it->second);
        values_.erase(it);
      } else if (static_cast<int>(values_.size()) >= limits_.max_values) {
        return refuse("this server already holds " + std::to_string(limits_.max_values) + " values");
      }
    }
    if (value != nullptr) {
      value->info = info;
    } else {
      if (!Reserve(info.bytes())) {
        return refuse("no room for value '" + info.name() + "' of " + std::to_string(info.bytes()) + " bytes (" +
                      std::to_string(held_.load()) + " of " + std::to_string(limits_.max_total_bytes) + " bytes held)");
      }
      char* data = AllocBuffer(info.bytes());
      if (data == nullptr && info.bytes() > 0) {
        held_.fetch_sub(info.bytes());
        return refuse("out of memory for value '" + info.name() + "' of " + std::to_string(info.bytes()) + " bytes");
      }
      // From here the value owns the memory and its share of held_.
      value = std::make_shared<Value>(info, data, &held_);
    }
    char* data = value->data;
    pb::Response go;
    go.set_id(id);
    if (!wire_internal::WriteMessage(fd, mac, go, Clock::now() + limits_.io_timeout).ok()) return false;
    Status st = wire_internal::RecvBulk(fd, data, info.bytes(), limits_.io_timeout);
    if (!st.ok()) {
      if (!stop_.load()) {
        OGAI_LOG(Warn) << "blob server: value '" << info.name() << "' from " << host << " did not arrive whole ("
                       << st.message() << "); dropped";
      }
      return false;
    }
    if (Crc32c(data, info.bytes()) != info.crc32c()) {
      return refuse("value '" + info.name() + "' does not match its CRC-32C; dropped");
    }
    {
      std::lock_guard<std::mutex> vl(values_mu_);
      values_[info.name()] = std::move(value);
    }
    pb::Response ok;
    ok.set_id(id);
    return wire_internal::WriteMessage(fd, mac, ok, Clock::now() + limits_.io_timeout).ok();
  }

  bool Get(int fd, const std::string& host, wire_internal::FrameMac* mac, const pb::Request& req) {
    const pb::BlobGetRequest& g = req.blob_get();
    std::shared_ptr<Value> v;
    {
      std::lock_guard<std::mutex> vl(values_mu_);
      auto it = values_.find(g.name());
      if (it != values_.end()) v = it->second;
    }
    pb::Response r;
    r.set_id(req.id());
    const bool found = v != nullptr && v->info.step() == g.step() && v->info.bytes() == g.bytes();
    r.set_found(found);
    if (found) *r.mutable_blob() = v->info;
    if (!wire_internal::WriteMessage(fd, mac, r, Clock::now() + limits_.io_timeout).ok()) return false;
    if (!found) return true;
    Status st = wire_internal::SendBulk(fd, v->data, v->info.bytes(), limits_.io_timeout);
    if (!st.ok() && !stop_.load()) {
      OGAI_LOG(Warn) << "blob server: sending value '" << g.name() << "' to " << host << ": " << st.message();
    }
    return st.ok();
  }

  int listen_fd_, wake_r_, wake_w_, port_;
  std::string token_;
  BlobServerLimits limits_;
  std::thread accept_thread_;
  std::atomic<bool> stop_{false};
  std::mutex stop_mu_;
  bool stopped_ = false;
  std::mutex workers_mu_;
  std::list<Worker> workers_;  // a list: a worker's thread holds a reference to its entry
  std::atomic<int> num_connections_{0};
  std::atomic<uint64_t> held_{0};
  mutable std::mutex values_mu_;
  std::unordered_map<std::string, std::shared_ptr<Value>> values_;
};

Result<std::unique_ptr<BlobServer>> BlobServer::Start(const std::string& bind_host, int port, const std::string& token,
                                                      const BlobServerLimits& limits) {
  if (port < 0 || port > 65535) return InvalidArgument("blob server port out of range: " + std::to_string(port));
  if (token.empty()) return InvalidArgument("the blob server's token must not be empty");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const std::string port_s = std::to_string(port);
  const int rc = ::getaddrinfo(bind_host.empty() ? nullptr : bind_host.c_str(), port_s.c_str(), &hints, &res);
  if (rc != 0) return InvalidArgument("cannot resolve blob server address '" + bind_host + "': " + gai_strerror(rc));
  int fd = -1;
  int err = 0;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 256) != 0) {
      err = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0)
    return Unavailable("blob server cannot listen on " + bind_host + ":" + port_s + ": " + std::strerror(err));
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  const int bound = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                             : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    const int e = errno;
    ::close(fd);
    return ErrnoError("blob server setup", e);
  }
  auto impl = std::make_unique<Impl>(fd, wake[0], wake[1], bound, token, limits);
  impl->StartThread();
  OGAI_LOG(Info) << "blob server listening on " << bind_host << ":" << bound;
  return std::unique_ptr<BlobServer>(new BlobServer(std::move(impl)));
}

BlobServer::BlobServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BlobServer::~BlobServer() { Stop(); }
int BlobServer::port() const { return impl_->port(); }
int BlobServer::num_connections() const { return impl_->num_connections(); }
uint64_t BlobServer::bytes_held() const { return impl_->bytes_held(); }
int BlobServer::num_values() const { return impl_->num_values(); }
void BlobServer::Stop() {
  if (impl_) impl_->Stop();
}

}  // namespace ogai::store
