// ogai-bench store: the rendezvous store under load and under attack (docs/security.md).
//
// One StoreServer runs in a child process (so its peak RSS is its own, VmHWM). Phases:
//   * for N in --clients (64, 256, 1024): N client threads, each with its own connection,
//     loop set / get / add / wait for --seconds; ops/s and p50/p99 latency;
//   * the same with 500 idle authenticated connections and 8 hostile connections open (each
//     hostile thread in turn sends garbage, announces a 64 MiB frame, or connects and says
//     nothing, reconnecting whenever the server drops it);
//   * a 2-rank training job (ogai-worker, examples/tiny.yaml) bootstrapped through the same
//     store, without and then with the hostile connections: its median step time.
// --json prints one JSON object.
#include "store/store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/command.h"
#include "bench/stats.h"
#include "core/log.h"
#include "store/server.h"

namespace ogai::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr char kToken[] = "bench-store-token-7f3a";

struct Server {
  pid_t pid = -1;
  int port = 0;
  int hold_fd = -1;  // closing it stops the server
};

// Forks the server process (before any thread of ours starts).
Server StartServer() {
  int up[2], hold[2];
  if (::pipe(up) != 0 || ::pipe(hold) != 0) std::abort();
  Server s;
  s.pid = ::fork();
  if (s.pid == 0) {
    ::close(up[0]);
    ::close(hold[1]);
    SetLogLevel(LogLevel::Error);
    auto srv = store::StoreServer::Start("127.0.0.1", 0, kToken);
    int port = srv.ok() ? (*srv)->port() : 0;
    (void)!::write(up[1], &port, sizeof(port));
    char c;
    while (::read(hold[0], &c, 1) > 0) {
    }
    _exit(0);
  }
  ::close(up[1]);
  ::close(hold[0]);
  if (::read(up[0], &s.port, sizeof(s.port)) != sizeof(s.port) || s.port == 0) std::abort();
  ::close(up[0]);
  s.hold_fd = hold[1];
  return s;
}

// A field of /proc/PID/status in bytes ("VmHWM:" is the peak RSS, "VmRSS:" the current one).
int64_t StatusBytes(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field, 0) == 0) return std::stoll(line.substr(field.size())) * 1024;
  }
  return -1;
}

std::unique_ptr<store::Store> Connect(int port) {
  auto c = store::ConnectTcpStore("127.0.0.1", port, kToken, std::chrono::seconds(30));
  if (!c.ok()) {
    LogLine(LogLevel::Error, c.status().ToString());
    return nullptr;
  }
  return std::move(*c);
}

struct LoadResult {
  int clients = 0;
  bool hostile = false;
  double ops_per_s = 0, p50_us = 0, p99_us = 0;
  int64_t errors = 0;
};

LoadResult RunLoad(int port, int clients, double seconds, bool hostile) {
  std::vector<std::unique_ptr<store::Store>> conns(clients);
  for (int i = 0; i < clients; ++i) conns[i] = Connect(port);
  std::atomic<bool> go{false}, stop{false};
  std::atomic<int64_t> errors{0};
  std::vector<std::vector<double>> lat(clients);
  std::vector<std::thread> th;
  for (int i = 0; i < clients; ++i) {
    th.emplace_back([&, i] {
      store::Store* s = conns[i].get();
      if (s == nullptr) return;
      const std::string key = "load/" + std::to_string(i);
      while (!go.load()) std::this_thread::yield();
      for (int op = 0; !stop.load(); ++op) {
        const auto t0 = Clock::now();
        bool ok = true;
        switch (op % 4) {
          case 0: ok = s->Set(key, "value-" + std::to_string(op)).ok(); break;
          case 1: ok = s->Get(key, std::chrono::seconds(10)).ok(); break;
          case 2: ok = s->Add("load/counter", 1).ok(); break;
          case 3: ok = s->Wait({key}, std::chrono::seconds(10)).ok(); break;
        }
        if (!ok) errors.fetch_add(1);
        lat[i].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  }
  const auto t0 = Clock::now();
  go.store(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (auto& t : th) t.join();
  const double el = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  LoadResult r;
  r.clients = clients;
  r.hostile = hostile;
  r.errors = errors.load();
  r.ops_per_s = static_cast<double>(all.size()) / el;
  if (!all.empty()) {
    r.p50_us = all[all.size() / 2];
    r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

// 500 idle authenticated connections and 8 hostile threads, until Stop().
class Hostile {
 public:
  Hostile(int port, int idle) : port_(port) {
    for (int i = 0; i < idle; ++i) idle_.push_back(Connect(port));
    for (int i = 0; i < 8; ++i) th_.emplace_back([this, i] { Loop(i); });
  }
  ~Hostile() {
    stop_.store(true);
    for (auto& t : th_) t.join();
  }
  int64_t attempts() const { return attempts_.load(); }

 private:
  int Raw() const {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd);
      return -1;
    }
    timeval tv{0, 200000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
  }
  void Loop(int i) {
    std::string junk(4096, '\0');
    for (size_t k = 0; k < junk.size(); ++k) junk[k] = static_cast<char>((k * 131 + i) & 0xff);
    const unsigned char huge[8] = {'O', 'G', 'S', '1', 0x00, 0x00, 0x00, 0x04};  // 64 MiB
    for (int n = 0; !stop_.load(); ++n) {
      int fd = Raw();
      if (fd < 0) continue;
      attempts_.fetch_add(1);
      switch ((n + i) % 3) {
        case 0: (void)!::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL); break;
        case 1:
          (void)!::send(fd, huge, sizeof huge, MSG_NOSIGNAL);
          (void)!::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
          break;
        case 2: break;  // says nothing
      }
      char buf[256];
      while (!stop_.load()) {  // until the server drops us
        const ssize_t r = ::read(fd, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) break;
      }
      ::close(fd);
    }
  }
  int port_;
  std::vector<std::unique_ptr<store::Store>> idle_;
  std::vector<std::thread> th_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> attempts_{0};
};

// Two ogai-worker ranks bootstrapped through the bench's store; returns the median step ms.
double TrainStepMs(int port, const std::string& tag) {
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  const std::string worker = (self.parent_path() / "ogai-worker").string();
  const std::string yaml = (self.parent_path().parent_path().parent_path() / "examples/tiny.yaml").string();
  const std::string dir = (std::filesystem::temp_directory_path() / ("ogai-bench-store-" + tag)).string();
  std::filesystem::create_directories(dir);
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r) {
    pid_t p = ::fork();
    if (p == 0) {
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", "2", 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", "2", 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::setenv("OGAI_STORE_TOKEN", kToken, 1);
      ::setenv("OGAI_RUN_ID", ("bench" + tag).c_str(), 1);  // connect to the store, do not host one
      ::setenv("OGAI_RESTART_COUNT", tag == "quiet" ? "0" : "1", 1);
      const std::string metrics = "train.metrics_file=" + dir + "/m.{rank}.jsonl";
      const int devnull = ::open("/dev/null", O_WRONLY);  // the step lines would mix with --json
      if (devnull >= 0) ::dup2(devnull, STDOUT_FILENO);
      ::execl(worker.c_str(), worker.c_str(), yaml.c_str(), "parallel.dp=2", "train.steps=30", "train.log_every=1000",
              metrics.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    pids.push_back(p);
  }
  for (pid_t p : pids) ::waitpid(p, nullptr, 0);
  std::vector<double> ms;
  std::ifstream f(dir + "/m.0.jsonl");
  std::string line;
  while (std::getline(f, line)) {
    const size_t k = line.find("\"ms\": ");
    if (line.rfind("{\"step\"", 0) == 0 && k != std::string::npos) ms.push_back(std::stod(line.substr(k + 6)));
  }
  std::filesystem::remove_all(dir);
  if (ms.size() > 5) ms.erase(ms.begin(), ms.begin() + 5);  // warm-up
  return Median(ms);
}

int RunStore(int argc, char** argv) {
  bool json = false;
  double seconds = 3;
  std::vector<int> clients = {64, 256, 1024};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (a == "--clients" && i + 1 < argc) {
      clients.clear();
      std::stringstream ss(argv[++i]);
      for (std::string c; std::getline(ss, c, ',');) clients.push_back(std::stoi(c));
    } else {
      Print(std::string("usage: ") + argv[0] + " [--json] [--seconds S] [--clients 64,256,1024]");
      return a == "--help" ? 0 : 2;
    }
  }
  Server srv = StartServer();
  // The server is a fork of this process, so its RSS starts with what ogai-bench itself holds
  // (most of it cuBLASLt's static data, ~84 MiB, loaded for `ogai-bench gpu`); the store's own
  // memory is what it grows by from here.
  const int64_t rss_start = StatusBytes(srv.pid, "VmRSS:");
  std::vector<LoadResult> results;
  for (bool hostile : {false, true}) {
    std::unique_ptr<Hostile> h;
    if (hostile) h = std::make_unique<Hostile>(srv.port, 500);
    for (int n : clients) results.push_back(RunLoad(srv.port, n, seconds, hostile));
  }
  const double quiet_ms = TrainStepMs(srv.port, "quiet");
  double hostile_ms = 0;
  int64_t attempts = 0;
  {
    Hostile h(srv.port, 500);
    hostile_ms = TrainStepMs(srv.port, "hostile");
    attempts = h.attempts();
  }
  const int64_t rss = StatusBytes(srv.pid, "VmHWM:");
  const double mib = 1 << 20;
  ::close(srv.hold_fd);
  ::waitpid(srv.pid, nullptr, 0);

  std::string out = "{\"bench\": \"store\", \"seconds\": " + std::to_string(seconds) + ", \"load\": [";
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "%s{\"clients\": %d, \"hostile\": %s, \"ops_per_s\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
                  "\"errors\": %lld}",
                  i ? ", " : "", r.clients, r.hostile ? "true" : "false", r.ops_per_s, r.p50_us, r.p99_us,
                  static_cast<long long>(r.errors));
    out += buf;
  }
  char tail[400];
  std::snprintf(tail, sizeof tail,
                "], \"server_peak_rss_mib\": %.1f, \"server_start_rss_mib\": %.1f, \"server_growth_mib\": %.1f, "
                "\"train_step_ms\": {\"quiet\": %.2f, \"hostile\": %.2f, \"ratio\": %.3f}, "
                "\"hostile_connection_attempts\": %lld}",
                rss / mib, rss_start / mib, (rss - rss_start) / mib, quiet_ms, hostile_ms,
                quiet_ms > 0 ? hostile_ms / quiet_ms : 0.0, static_cast<long long>(attempts));
  out += tail;
  if (json) {
    Print(out);
  } else {
    for (const auto& r : results) {
      char buf[200];
      std::snprintf(buf, sizeof buf, "%5d clients%s: %9.0f ops/s  p50 %8.1f us  p99 %9.1f us  errors %lld", r.clients,
                    r.hostile ? " + hostile" : "          ", r.ops_per_s, r.p50_us, r.p99_us,
                    static_cast<long long>(r.errors));
      Print(buf);
    }
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "server peak RSS %.1f MiB (%.1f MiB at its start, a fork of ogai-bench: grew %.1f MiB); train step "
                  "%.2f ms quiet, %.2f ms hostile (%.3fx)",
                  rss / mib, rss_start / mib, (rss - rss_start) / mib, quiet_ms, hostile_ms,
                  quiet_ms > 0 ? hostile_ms / quiet_ms : 0);
    Print(buf);
  }
  return 0;
}

Command reg("store", "rendezvous store under load and hostile connections (ops/s, latency, RSS)", &RunStore);

}  // namespace
}  // namespace ogai::bench
