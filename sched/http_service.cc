#include "sched/http_service.h"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "sched/http_api.h"
#include "sched/tls_files.h"
#include "web/dashboard_page.h"

namespace ogai::sched {

namespace {

bool IsLoopback(const std::string& host) { return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

// Every response: no MIME sniffing, only this origin's resources plus the page's own inline
// scripts and styles, no framing by others. No CORS header: no other origin may use the API.
const httplib::Headers& CommonHeaders() {
  static const httplib::Headers h = {
      {"X-Content-Type-Options", "nosniff"},
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
  };
  return h;
}

// Why binding host:port failed, and what to do (httplib says only that it did): bind again
// and read errno.
std::string WhyNoBind(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || res == nullptr) {
    return host + " is not a host name or address this machine knows; give an address such as 127.0.0.1";
  }
  int err = 0;
  const int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
  if (fd < 0) {
    err = errno;
  } else {
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0) err = errno;
    ::close(fd);
  }
  ::freeaddrinfo(res);
  const std::string other = "; choose another port, or port 0 for a free one";
  if (err == EADDRINUSE) return "the port is in use (another program listens there)" + other;
  if (err == EADDRNOTAVAIL) return host + " is not an address of this machine; give one of its own, such as 127.0.0.1";
  if (err == EACCES) return "ports below 1024 need privileges" + other;
  return (err != 0 ? std::string(std::strerror(err)) : std::string("the port was taken meanwhile")) + other;
}

}  // namespace

Status ParseHttpAddress(const std::string& listen, bool allow_remote, std::string* host, int* port) {
  const std::string fix = "; give HOST:PORT, e.g. --http 127.0.0.1:8080 (port 0: a free one)";
  std::string h, p;
  if (!listen.empty() && listen[0] == '[') {
    const size_t close = listen.find("]:");
    if (close == std::string::npos) return InvalidArgument("--http " + listen + ": expected [IPV6]:PORT" + fix);
    h = listen.substr(1, close - 1);
    p = listen.substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return InvalidArgument("--http " + listen + ": no host or port" + fix);
    h = listen.substr(0, colon);
    p = listen.substr(colon + 1);
  }
  char* end = nullptr;
  const long v = std::strtol(p.c_str(), &end, 10);
  if (p.empty() || *end != '\0' || v < 0 || v > 65535) {
    return InvalidArgument("--http " + listen + ": '" + p + "' is not a port (0-65535)" + fix);
  }
  if (!IsLoopback(h) && !allow_remote) {
    return InvalidArgument("--http " + listen + ": '" + h +
                           "' is not a loopback address, so other machines could reach the dashboard (tokens travel "
                           "in the clear over HTTP); use 127.0.0.1, serve HTTPS with --http-cert and --http-key, or "
                           "add --http-allow-remote on a trusted network");
  }
  *host = h;
  *port = static_cast<int>(v);
  return Status::Ok();
}

struct HttpService::Impl {
  HttpOptions o;
  std::string host;
  int port = 0;
  std::unique_ptr<httplib::Server> server;  // an httplib::SSLServer with a certificate
  std::thread thread;
  bool started = false;
  std::atomic<bool> done{false};  // listen_after_bind returned
};

HttpService::HttpService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpService::~HttpService() { Stop(); }

Result<std::unique_ptr<HttpService>> HttpService::Bind(const HttpOptions& o) {
  auto impl = std::make_unique<Impl>();
  impl->o = o;
  int want = 0;
  const bool tls = !o.cert_file.empty() || !o.key_file.empty();
  OGAI_RETURN_IF_ERROR(ParseHttpAddress(o.listen, o.allow_remote || tls, &impl->host, &want));
  if (tls) {
    OGAI_RETURN_IF_ERROR(CheckTlsPair("--http-cert", o.cert_file, "--http-key", o.key_file));
    auto ssl = std::make_unique<httplib::SSLServer>(o.cert_file.c_str(), o.key_file.c_str());
    if (!ssl->is_valid()) {
      return InvalidArgument("--http-cert " + o.cert_file + " and --http-key " + o.key_file +
                             ": OpenSSL cannot serve with them (not PEM, or the key is not the certificate's); "
                             "a self-signed pair: openssl req -x509 -newkey rsa:2048 -nodes -days 365 "
                             "-subj /CN=HOST -keyout KEY -out CERT");
    }
    impl->server = std::move(ssl);
  } else {
    impl->server = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *impl->server;
  // httplib's default sets SO_REUSEPORT, which would let a second daemon bind the same port
  // without an error; SO_REUSEADDR alone still allows a restart while old connections linger.
  s.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  if (want == 0) {
    impl->port = s.bind_to_any_port(impl->host);
    if (impl->port <= 0) {
      return Unavailable("--http " + o.listen + ": cannot listen there: " + WhyNoBind(impl->host, 0));
    }
  } else {
    if (!s.bind_to_port(impl->host, want)) {
      return Unavailable("--http " + o.listen + ": cannot listen there: " + WhyNoBind(impl->host, want));
    }
    impl->port = want;
  }
  return std::unique_ptr<HttpService>(new HttpService(std::move(impl)));
}

int HttpService::port() const { return impl_->port; }

std::string HttpService::url() const {
  const std::string h = impl_->host.find(':') != std::string::npos ? "[" + impl_->host + "]" : impl_->host;
  const bool tls = !impl_->o.cert_file.empty();
  return (tls ? "https://" : "http://") + h + ":" + std::to_string(impl_->port) + "/";
}

void HttpService::Start(Scheduler* sched) {
  Impl& m = *impl_;
  httplib::Server& s = *m.server;
  const int threads = m.o.threads > 0 ? m.o.threads : 8;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_read_timeout(5, 0);
  s.set_write_timeout(5, 0);
  s.set_keep_alive_timeout(2);
  s.set_payload_max_length(4096);
  s.set_default_headers(CommonHeaders());
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, 500, "internal error: " + what);
  });
  // Anything without a body of its own (unknown paths, a body over the limit): one JSON line.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string msg = "HTTP " + std::to_string(res.status) + ": the request was not understood";
    if (res.status == 404) msg = "no such page: " + req.path;
    if (res.status == 413) msg = "request body over 4 KiB";
    if (res.status == 414) msg = "request line too long";
    if (res.status == 405) msg = "method not allowed";
    SendError(res, res.status, msg);
  });
  auto page = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_content(web::DashboardPage(), "text/html; charset=utf-8");
  };
  for (const char* path : {"/", "/jobs", "/nodes", "/models", R"(/job/(\d+))"}) s.Get(path, page);
  ApiContext ctx;
  ctx.scheduler = sched;
  ctx.state_dir = m.o.state_dir;
  ctx.registry = m.o.registry;
  ctx.metrics = std::make_shared<MetricsCache>();
  AddApiRoutes(&s, ctx);
  m.started = true;
  m.thread = std::thread([&m] {
    m.server->listen_after_bind();
    m.done = true;
  });
}

void HttpService::Stop() {
  if (!impl_ || !impl_->started) return;
  Impl& m = *impl_;
  // stop() acts only once the accept loop runs: wait for it (or for its end) first.
  while (!m.server->is_running() && !m.done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  m.server->stop();
  m.thread.join();
  m.started = false;
}

}  // namespace ogai::sched
