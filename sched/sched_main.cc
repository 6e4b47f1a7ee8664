// ogai-sched: the scheduler daemon (docs/scheduler.md). A foreground process:
//   ogai-sched --state DIR [--pool HOSTFILE] [--tenants FILE] [--listen unix:PATH|HOST:PORT]
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/file_io.h"
#include "core/log.h"
#include "launcher/hostfile.h"
#include "sched/http_service.h"
#include "sched/runner.h"
#include "sched/sched_config.h"
#include "sched/service.h"

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

constexpr const char* kUsage = R"(usage: ogai-sched --state DIR [options]

  --state DIR        the scheduler's folder: sched.db, admin.token, jobs/<id>/ (required)
  --pool FILE        the nodes and their slots (Open MPI hostfile); default: this machine
  --tenants FILE     tenants, quotas and tokens (YAML, docs/scheduler.md); default: one
                     tenant "default" with every slot, its token in DIR/default.token
  --listen ADDR      unix:PATH (default unix:DIR/sched.sock) or HOST:PORT (port 0: a free one)
  --listen-cert PEM  with --listen-key PEM: the gRPC API over TLS on a HOST:PORT --listen
  --listen-key PEM   (clients: ogai --ca CERT.pem, or OGAI_SCHED_CA)
  --backend B        how jobs run: local (ogai-run on the assigned hosts, the default) or
                     slurm (one sbatch per attempt, on the assigned nodes)
  --ogai-run PATH    the launcher (default: the one beside this program)
  --grace SECONDS    a preempted job's time to commit its checkpoint and stop (default 120)
  --half-life S      fair-share usage half-life in seconds (default 3600)
  --tick-ms MS       the scheduling loop's period (default 200)
  --http HOST:PORT   serve the web dashboard and its JSON API there (off by default;
                     loopback only; port 0 picks a free one, written to DIR/http.port)
  --http-allow-remote  allow plain HTTP on an address that is not loopback
  --http-cert PEM    with --http-key PEM: serve the dashboard over HTTPS (then any address
  --http-key PEM     is allowed; the tokens no longer travel in the clear)
  --registry DIR     the ogai-model registry the dashboard's models page shows
  -v                 say more
)";

int Fail(const std::string& msg, int code = 2) {
  ogai::Print("ogai-sched: " + msg + "\n");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ogai;
  using namespace ogai::sched;
  ogai::SetLogProcessName("ogai-sched");
  DaemonFlags f;
  if (Status st = ParseDaemonFlags(argc, argv, &f); !st.ok()) {
    if (st.code() == Code::kAborted) {
      Print(kUsage);
      return 0;
    }
    return Fail(st.message() + " (ogai-sched --help)");
  }
  if (f.verbose) SetLogLevel(LogLevel::Info);
  // The dashboard's port first: a port in use is one line before anything is created.
  std::unique_ptr<HttpService> http;
  if (!f.http.empty()) {
    HttpOptions ho;
    ho.listen = f.http;
    ho.allow_remote = f.http_allow_remote;
    ho.cert_file = f.http_cert;
    ho.key_file = f.http_key;
    ho.registry = f.registry;
    auto h = HttpService::Bind(ho);
    if (!h.ok()) return Fail(h.status().message(), 1);
    http = std::move(h).value();
  }
  // The gRPC API's certificate and key, read before anything is created.
  std::unique_ptr<TlsPem> listen_tls;
  if (!f.listen_cert.empty()) {
    auto pem = ReadTlsPair("--listen-cert", f.listen_cert, "--listen-key", f.listen_key);
    if (!pem.ok()) return Fail(pem.status().message());
    listen_tls = std::make_unique<TlsPem>(std::move(pem).value());
  }
  auto opts = BuildSchedulerOptions(f, argv[0]);
  if (!opts.ok()) return Fail(opts.status().message());
  // One daemon per state folder.
  const std::string lock_path = f.state + "/lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return Fail("another ogai-sched already runs on " + f.state + " (" + lock_path + " is locked)");
  }
  ::signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  auto s = Scheduler::Create(std::move(opts).value());
  if (!s.ok()) return Fail(s.status().message(), 1);
  std::unique_ptr<grpc::Service> service;
  int grpc_port = 0;
  auto server = StartService(s->get(), f.listen, listen_tls.get(), &service, &grpc_port);
  if (!server.ok()) return Fail(server.status().message(), 1);
  const std::string port_file = f.state + "/http.port";
  if (http) {
    if (Status st = WriteFileAtomic(port_file, std::to_string(http->port()) + "\n", 0644); !st.ok()) {
      (*server)->Shutdown();
      return Fail(st.message(), 1);
    }
    http->Start(s->get());
    Print("ogai-sched: dashboard at " + http->url() + "\n");
  }
  // A TCP address with the port it got (port 0 picks one).
  std::string where = f.listen;
  if (grpc_port > 0) where = f.listen.substr(0, f.listen.rfind(':') + 1) + std::to_string(grpc_port);
  Print("ogai-sched: listening on " + where + (listen_tls ? " (TLS)" : "") + " (state " + f.state + ")\n");
  std::thread loop([&] { (*s)->Run(&g_stop); });
  while (!g_stop) ::usleep(100000);
  if (http) {
    http->Stop();
    ::unlink(port_file.c_str());
  }
  (*server)->Shutdown();
  loop.join();
  // Jobs keep running: a daemon started again on this folder re-attaches to them.
  Print("ogai-sched: stopped; running jobs were left running and are re-attached at the next start\n");
  return 0;
}
