// TcpStore: the client side of the store. A small pool of authenticated connections, so
// that blocking calls from different threads do not queue behind each other.
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

#include "proto/store.pb.h"
#include "store/session.h"
#include "store/store.h"
#include "store/wire.h"

namespace ogai::store {

using wire_internal::Clock;
namespace pb = ::ogai::store::wire;

Store::~Store() = default;

namespace {

// Extra time a client waits for the server's answer beyond the request's own timeout (the
// server answers timeouts itself; this only catches a dead server).
constexpr auto kReplySlack = std::chrono::seconds(10);
// Deadline for calls that never wait on the server side.
constexpr auto kPlainCallTimeout = std::chrono::seconds(60);
constexpr auto kReconnectTimeout = std::chrono::seconds(10);

using wire_internal::Conn;
using wire_internal::FromResponse;

class TcpStore final : public Store {
 public:
  TcpStore(std::string host, int port, std::string token)
      : host_(std::move(host)), port_(port), token_(std::move(token)) {}

  std::string where() const { return host_ + ":" + std::to_string(port_); }

  // Opens and authenticates one connection, retrying while the server is not up.
  Result<std::unique_ptr<Conn>> Dial(Clock::time_point deadline) {
    Status last;
    auto backoff = std::chrono::milliseconds(10);
    for (;;) {
      auto fd = wire_internal::DialTcp(host_, port_, deadline);
      if (fd.ok()) {
        auto conn = std::make_unique<Conn>(*fd);
        Status st = conn->Handshake(token_, deadline);
        if (st.ok()) return conn;
        if (st.code() == Code::kPermissionDenied || st.code() == Code::kInvalidArgument) {
          return st.WithContext("store at " + where() + " refused this client");
        }
        last = st;
      } else {
        last = fd.status();
        if (last.code() == Code::kInvalidArgument) return last;
      }
      if (Clock::now() + backoff >= deadline) break;
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
    }
    return Unavailable("cannot reach the store at " + where() + " (" + last.message() +
                       "): is the launcher running, and are MASTER_ADDR/MASTER_PORT right?");
  }

  Status Prime(std::chrono::milliseconds connect_timeout) {
    OGAI_ASSIGN_OR_RETURN(auto conn, Dial(Clock::now() + connect_timeout));
    Release(std::move(conn));
    return Status::Ok();
  }

  Status Set(const std::string& key, const std::string& value) override {
    pb::Request req;
    req.mutable_set()->set_key(key);
    req.mutable_set()->set_value(value);
    return Call(req, kPlainCallTimeout).status();
  }

  Result<std::string> Get(const std::string& key, std::chrono::milliseconds timeout) override {
    pb::Request req;
    req.mutable_get()->set_key(key);
    timeout = std::clamp(timeout, std::chrono::milliseconds(0), kMaxStoreTimeout);
    req.mutable_get()->set_timeout_ms(timeout.count());
    OGAI_ASSIGN_OR_RETURN(auto resp, Call(req, timeout + kReplySlack));
    return std::move(*resp.mutable_value());
  }

  Result<int64_t> Add(const std::string& key, int64_t delta) override {
    pb::Request req;
    req.mutable_add()->set_key(key);
    req.mutable_add()->set_delta(delta);
    OGAI_ASSIGN_OR_RETURN(auto resp, Call(req, kPlainCallTimeout));
    return resp.int_value();
  }

  Result<std::string> CompareSet(const std::string& key, const std::string& expected,
                                 const std::string& desired) override {
    pb::Request req;
    auto* cs = req.mutable_compare_set();
    cs->set_key(key);
    cs->set_expected(expected);
    cs->set_desired(desired);
    OGAI_ASSIGN_OR_RETURN(auto resp, Call(req, kPlainCallTimeout));
    return std::move(*resp.mutable_value());
  }

  Status Wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) override {
    if (keys.empty()) return Status::Ok();
    pb::Request req;
    for (const auto& k : keys) req.mutable_wait()->add_keys(k);
    timeout = std::clamp(timeout, std::chrono::milliseconds(0), kMaxStoreTimeout);
    req.mutable_wait()->set_timeout_ms(timeout.count());
    return Call(req, timeout + kReplySlack).status();
  }

  Result<bool> Delete(const std::string& key) override {
    pb::Request req;
    req.mutable_del()->set_key(key);
    OGAI_ASSIGN_OR_RETURN(auto resp, Call(req, kPlainCallTimeout));
    return resp.found();
  }

  Result<std::optional<std::string>> TryGet(const std::string& key) override {
    pb::Request req;
    req.mutable_try_get()->set_key(key);
    OGAI_ASSIGN_OR_RETURN(auto resp, Call(req, kPlainCallTimeout));
    if (!resp.found()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(*resp.mutable_value()));
  }

  Result<std::vector<std::string>> ListKeys(const std::string& prefix) override {
    pb::Request req;
    req.mutable_list_keys()->set_prefix(prefix);
    OGAI_ASSIGN_OR_RETURN(auto resp, Call(req, kPlainCallTimeout));
    return std::vector<std::string>(resp.keys().begin(), resp.keys().end());
  }

 private:
  // Sends req on an idle (or new) connection and returns the OK response, or the error.
  template <typename Dur>
  Result<pb::Response> Call(pb::Request& req, Dur timeout) {
    auto deadline = Clock::now() + timeout;
    std::unique_ptr<Conn> conn = Acquire();
    if (!conn) {
      OGAI_ASSIGN_OR_RETURN(conn, Dial(Clock::now() + kReconnectTimeout));
    }
    auto resp = conn->Call(req, deadline);
    if (!resp.ok()) {
      // The connection is in an unknown state: drop it.
      return resp.status().WithContext("store at " + where());
    }
    Release(std::move(conn));
    OGAI_RETURN_IF_ERROR(FromResponse(*resp));
    return resp;
  }

  std::unique_ptr<Conn> Acquire() {
    std::lock_guard<std::mutex> lk(mu_);
    if (idle_.empty()) return nullptr;
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return c;
  }

  void Release(std::unique_ptr<Conn> c) {
    std::lock_guard<std::mutex> lk(mu_);
    if (idle_.size() < 8) idle_.push_back(std::move(c));
  }

  std::string host_;
  int port_;
  std::string token_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Conn>> idle_;
};

}  // namespace

Result<std::unique_ptr<Store>> ConnectTcpStore(const std::string& host, int port, const std::string& token,
                                               std::chrono::milliseconds connect_timeout) {
  if (port <= 0 || port > 65535) {
    return InvalidArgument("store port out of range: " + std::to_string(port));
  }
  auto store = std::make_unique<TcpStore>(host, port, token);
  OGAI_RETURN_IF_ERROR(store->Prime(connect_timeout));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace ogai::store
