// ogai-bench peer: checkpoint peer copies (ckpt/peer_copy.h) sent the old way, through the store
// as one value in 32 MiB parts (what ckpt/peer_copy.cc did before the data channel), against
// the data channel (store/blob_server.h, PeerCopies::Push), in one invocation, on loopback.
//
// For each shard size: --caches caches of each kind (StoreServer, BlobServer) run in this
// process on 127.0.0.1, and one shard file of that size (random bytes, in the page cache, as a
// just-written checkpoint is) is pushed to all of them:
//   * push throughput: --reps pushes each way, median time, MB/s = bytes delivered (size x
//     caches) / time; and the CPU time the push took, both sides (caches included: they run
//     in this process), which depends less on what else the machine runs;
//   * step time: a fixed "training step" (--gemm-reps SGEMMs of --gemm^3 through the kernels
//     training uses, on their threads) timed --steps times with store pushes, and again with
//     channel pushes, a push started at every second step (once the previous has finished).
//     Ratio = median of the steps a push overlapped / median of the steps in between (the
//     same run, so drift on a shared machine cancels). step_noise: the same ratio between the
//     even and odd steps of a run without pushes, what chance gives.
// --json prints one JSON object (keys in docs/recovery.md).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/command.h"
#include "bench/stats.h"
#include "ckpt/peer_copy.h"
#include "core/crc32c.h"
#include "core/file_io.h"
#include "core/log.h"
#include "kernels/cpu/gemm.h"
#include "store/blob_server.h"
#include "store/server.h"
#include "store/store.h"

namespace ogai::bench {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
constexpr char kToken[] = "bench-peer-token";

constexpr const char* kUsage =
    "usage: ogai-bench peer [--sizes MB,MB] [--caches N] [--reps R] [--steps S] [--gemm N] [--gemm-reps K] [--json]\n"
    "  --sizes      shard sizes in MB (default 2.6,100)\n"
    "  --caches     caches each shard goes to (default 3)\n"
    "  --reps       pushes timed per size and way (default 5)\n"
    "  --steps      steps timed per mode (default 30)\n"
    "  --gemm       the step's SGEMM size, N x N x N (default 1024)\n"
    "  --gemm-reps  SGEMMs per step (default 3)\n"
    "  --channel-only  skip the store path (for profiling; its figures are then 0)\n"
    "  --json       one JSON object on stdout\n";

double Seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The old path, as ckpt/peer_copy.cc did it: the file read into memory, then per cache: meta
// deleted, the parts set, old parts dropped, meta set (each a store message with a MAC).
class StorePath {
 public:
  Status Connect(const std::vector<int>& ports) {
    for (int p : ports) {
      OGAI_ASSIGN_OR_RETURN(auto c, store::ConnectTcpStore("127.0.0.1", p, kToken, std::chrono::milliseconds(5000)));
      conns_.push_back(std::move(c));
    }
    return Status::Ok();
  }
  Status Push(int64_t step, const std::string& path) {
    OGAI_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
    const std::string name = path.substr(path.rfind('/') + 1);
    const uint32_t crc = Crc32c(bytes.data(), bytes.size());
    constexpr size_t kPart = 32u << 20;
    const int64_t parts = static_cast<int64_t>((bytes.size() + kPart - 1) / kPart);
    for (auto& c : conns_) {
      const std::string meta = "shard/" + name + "/meta";
      OGAI_ASSIGN_OR_RETURN(auto old, c->TryGet(meta));
      (void)old;
      OGAI_RETURN_IF_ERROR(c->Delete(meta).status());
      for (int64_t i = 0; i < parts; ++i) {
        const size_t off = static_cast<size_t>(i) * kPart;
        OGAI_RETURN_IF_ERROR(
            c->Set("shard/" + name + "/" + std::to_string(i), bytes.substr(off, std::min(kPart, bytes.size() - off))));
      }
      OGAI_RETURN_IF_ERROR(c->Set(meta, std::to_string(step) + " " + std::to_string(bytes.size()) + " " +
                                            std::to_string(parts) + " " + std::to_string(crc)));
    }
    return Status::Ok();
  }

 private:
  std::vector<std::unique_ptr<store::Store>> conns_;
};

// The "training step": fixed SGEMMs on the kernels' threads.
struct Step {
  int n = 1024;
  int reps = 3;
  std::vector<float> a, b, c;
  void Init() {
    const size_t nn = static_cast<size_t>(n) * static_cast<size_t>(n);
    a.assign(nn, 0.5f);
    b.assign(nn, 0.25f);
    c.assign(nn, 0.0f);
  }
  double RunMs() {
    const auto t0 = Clock::now();
    for (int r = 0; r < reps; ++r) {
      kernels::Sgemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    }
    return Seconds(t0) * 1e3;
  }
};

struct StepTimes {
  std::vector<double> with_push;     // steps during which a push was in flight
  std::vector<double> without_push;  // the others, interleaved with them
  int pushes = 0;
};

// Runs `steps` steps; with `push`, a push starts at every second step's start unless the
// previous one is still going. Each step is then sorted by whether a push overlapped it, so
// the steps with and without come from the same stretch of time (drift on a shared machine
// cancels out).
StepTimes TimeSteps(Step& step, int steps, const std::function<Status()>& push) {
  std::mutex mu;
  std::condition_variable cv;
  bool want = false, busy = false, stop = false;
  std::vector<std::pair<Clock::time_point, Clock::time_point>> spans;  // of the pushes
  std::thread pusher;
  if (push) {
    pusher = std::thread([&] {
      std::unique_lock<std::mutex> lk(mu);
      for (;;) {
        cv.wait(lk, [&] { return want || stop; });
        if (stop) return;
        want = false;
        busy = true;
        lk.unlock();
        const auto t0 = Clock::now();
        Status st = push();
        const auto t1 = Clock::now();
        if (!st.ok()) std::fprintf(stderr, "ogai-bench peer: push failed: %s\n", st.ToString().c_str());
        lk.lock();
        spans.emplace_back(t0, t1);
        busy = false;
      }
    });
  }
  std::vector<std::pair<Clock::time_point, Clock::time_point>> step_spans;
  std::vector<double> ms;
  for (int i = 0; i < steps; ++i) {
    if (push && i % 2 == 0) {
      std::lock_guard<std::mutex> lk(mu);
      if (!busy) {
        want = true;
        cv.notify_one();
      }
    }
    const auto t0 = Clock::now();
    ms.push_back(step.RunMs());
    step_spans.emplace_back(t0, Clock::now());
  }
  if (push) {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
      cv.notify_one();
    }
    pusher.join();
  }
  StepTimes out;
  out.pushes = static_cast<int>(spans.size());
  for (size_t i = 0; i < ms.size(); ++i) {
    bool overlap = false;
    for (const auto& [p0, p1] : spans) overlap = overlap || (p0 < step_spans[i].second && p1 > step_spans[i].first);
    (overlap ? out.with_push : out.without_push).push_back(ms[i]);
  }
  return out;
}

// CPU seconds of this process (every thread: the pushing side and the caches) so far.
double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

double Load1() {
  double l[1] = {0};
  return ::getloadavg(l, 1) == 1 ? l[0] : -1;
}

int RunPeer(int argc, char** argv) {
  std::vector<double> sizes_mb = {2.6, 100};
  int ncaches = 3, reps = 5, steps = 30;
  Step step;
  bool as_json = false;
  bool channel_only = false;  // for profiling the channel: the store path is skipped
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool takes =
        a == "--sizes" || a == "--caches" || a == "--reps" || a == "--steps" || a == "--gemm" || a == "--gemm-reps";
    if (takes && i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n%s", a.c_str(), kUsage);
      return 2;
    }
    if (a == "--sizes") {
      sizes_mb.clear();
      std::string list = argv[++i];
      for (size_t b = 0; b <= list.size();) {
        size_t e = list.find(',', b);
        if (e == std::string::npos) e = list.size();
        sizes_mb.push_back(std::atof(list.substr(b, e - b).c_str()));
        b = e + 1;
      }
    } else if (a == "--caches") {
      ncaches = std::atoi(argv[++i]);
    } else if (a == "--reps") {
      reps = std::atoi(argv[++i]);
    } else if (a == "--steps") {
      steps = std::atoi(argv[++i]);
    } else if (a == "--gemm") {
      step.n = std::atoi(argv[++i]);
    } else if (a == "--gemm-reps") {
      step.reps = std::atoi(argv[++i]);
    } else if (a == "--channel-only") {
      channel_only = true;
    } else if (a == "--json") {
      as_json = true;
    } else if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return 0;
    } else {
      std::fprintf(stderr, "unknown option '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  for (double mb : sizes_mb) {
    if (!(mb > 0) || mb > 4096) {
      std::fprintf(stderr, "--sizes: each size must be in (0, 4096] MB\n%s", kUsage);
      return 2;
    }
  }
  if (ncaches < 1 || reps < 1 || steps < 1 || step.n < 16 || step.reps < 1) {
    std::fprintf(stderr, "--caches, --reps, --steps, --gemm-reps must be >= 1 and --gemm >= 16\n%s", kUsage);
    return 2;
  }
  SetLogLevel(LogLevel::Error);

  std::vector<std::unique_ptr<store::StoreServer>> stores;
  std::vector<std::unique_ptr<store::BlobServer>> blobs;
  std::vector<int> store_ports;
  std::vector<std::string> blob_addrs;
  for (int i = 0; i < ncaches; ++i) {
    auto s = store::StoreServer::Start("127.0.0.1", 0, kToken);
    auto b = store::BlobServer::Start("127.0.0.1", 0, kToken);
    if (!s.ok() || !b.ok()) {
      std::fprintf(stderr, "ogai-bench peer: cannot start the caches: %s\n",
                   (!s.ok() ? s.status() : b.status()).ToString().c_str());
      return 1;
    }
    store_ports.push_back((*s)->port());
    blob_addrs.push_back("127.0.0.1:" + std::to_string((*b)->port()));
    stores.push_back(std::move(s).value());
    blobs.push_back(std::move(b).value());
  }
  StorePath old_path;
  if (Status st = old_path.Connect(store_ports); !st.ok()) {
    std::fprintf(stderr, "ogai-bench peer: %s\n", st.ToString().c_str());
    return 1;
  }
  ckpt::PeerCopies::Options po;
  po.caches = blob_addrs;
  po.node = 0;
  po.copies = ncaches - 1;
  po.token = kToken;
  auto peers = ckpt::PeerCopies::Create(po);
  if (!peers.ok()) {
    std::fprintf(stderr, "ogai-bench peer: %s\n", peers.status().ToString().c_str());
    return 1;
  }

  std::string dir = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + std::string("/ogai-bench-peer.XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) {
    std::fprintf(stderr, "ogai-bench peer: mkdtemp failed under %s\n", dir.c_str());
    return 1;
  }
  step.Init();
  step.RunMs();  // first touch, thread start-up
  json out;
  out["caches"] = ncaches;
  out["reps"] = reps;
  out["steps"] = steps;
  out["step_gemm"] = {{"n", step.n}, {"reps", step.reps}, {"threads", kernels::KernelThreads()}};
  out["load_1m_start"] = Load1();
  int64_t step_no = 0;
  for (double mb : sizes_mb) {
    const size_t bytes = static_cast<size_t>(mb * 1e6);
    const std::string path = dir + "/rank_00000.shard";
    {
      std::mt19937 g(static_cast<uint32_t>(bytes));
      std::string data(bytes, '\0');
      for (size_t i = 0; i < bytes; i += 4) data[i] = static_cast<char>(g());
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      Status st = fd < 0 ? ErrnoError("creating " + path, errno) : WriteAllFd(fd, data.data(), data.size(), path);
      if (fd >= 0) ::close(fd);
      if (!st.ok()) {
        std::fprintf(stderr, "ogai-bench peer: %s\n", st.ToString().c_str());
        return 1;
      }
    }
    auto store_push = [&]() { return channel_only ? Status::Ok() : old_path.Push(++step_no, path); };
    auto channel_push = [&]() { return (*peers)->Push(++step_no, path).status(); };
    std::vector<double> t_store, t_channel, c_store, c_channel;
    for (int r = 0; r < reps; ++r) {  // interleaved, so both see the same machine
      auto t0 = Clock::now();
      double c0 = CpuSeconds();
      if (Status st = store_push(); !st.ok()) {
        std::fprintf(stderr, "ogai-bench peer: store push: %s\n", st.ToString().c_str());
        return 1;
      }
      t_store.push_back(Seconds(t0));
      c_store.push_back(CpuSeconds() - c0);
      t0 = Clock::now();
      c0 = CpuSeconds();
      if (Status st = channel_push(); !st.ok()) {
        std::fprintf(stderr, "ogai-bench peer: channel push: %s\n", st.ToString().c_str());
        return 1;
      }
      t_channel.push_back(Seconds(t0));
      c_channel.push_back(CpuSeconds() - c0);
    }
    const double s_store = Median(t_store), s_channel = Median(t_channel);
    const double delivered = static_cast<double>(bytes) * ncaches;
    // Without pushes: the even steps against the odd ones, the ratio chance gives (noise).
    const StepTimes none = TimeSteps(step, steps, nullptr);
    std::vector<double> even, odd;
    for (size_t i = 0; i < none.without_push.size(); ++i) (i % 2 == 0 ? even : odd).push_back(none.without_push[i]);
    const double noise = std::abs(Median(even) / Median(odd) - 1.0);
    const StepTimes st_store = TimeSteps(step, steps, store_push);
    const StepTimes st_channel = TimeSteps(step, steps, channel_push);
    // A push longer than two steps leaves few steps without one: those runs compare with the
    // steps of the run without pushes instead.
    auto ratio = [&](const StepTimes& t, double* with_ms, double* without_ms) {
      *with_ms = Median(t.with_push);
      *without_ms = t.without_push.size() >= 3 ? Median(t.without_push) : Median(none.without_push);
      return t.with_push.empty() ? 1.0 : *with_ms / *without_ms;
    };
    double ws = 0, wos = 0, wc = 0, woc = 0;
    const double r_store = ratio(st_store, &ws, &wos), r_channel = ratio(st_channel, &wc, &woc);
    json r;
    r["mb"] = mb;
    r["bytes"] = bytes;
    r["store"] = {
        {"push_ms", s_store * 1e3}, {"mb_per_s", delivered / s_store / 1e6}, {"cpu_ms", Median(c_store) * 1e3}};
    r["channel"] = {
        {"push_ms", s_channel * 1e3}, {"mb_per_s", delivered / s_channel / 1e6}, {"cpu_ms", Median(c_channel) * 1e3}};
    r["channel_speedup"] = s_store / s_channel;
    r["step_ms"] = {{"no_push", Median(none.without_push)},
                    {"store", {{"with_push", ws}, {"without_push", wos}}},
                    {"channel", {{"with_push", wc}, {"without_push", woc}}}};
    r["step_ratio"] = {{"store", r_store}, {"channel", r_channel}};
    r["step_noise"] = noise;
    r["pushes_during_steps"] = {{"store", st_store.pushes}, {"channel", st_channel.pushes}};
    r["steps_with_push"] = {{"store", st_store.with_push.size()}, {"channel", st_channel.with_push.size()}};
    r["load_1m"] = Load1();
    out["sizes"].push_back(r);
    if (!as_json) {
      std::printf(
          "%.1f MB to %d caches: store %.1f ms (%.0f MB/s, %.1f ms CPU), channel %.1f ms (%.0f MB/s, %.1f ms CPU): "
          "%.1fx\n",
          mb, ncaches, s_store * 1e3, delivered / s_store / 1e6, Median(c_store) * 1e3, s_channel * 1e3,
          delivered / s_channel / 1e6, Median(c_channel) * 1e3, s_store / s_channel);
      std::printf(
          "  steps with a push in flight / without: store %.1f / %.1f ms (x%.3f, %zu steps with), channel %.1f / "
          "%.1f ms (x%.3f, %zu steps with); noise (even/odd steps, no pushes) %.1f%%; load %.2f\n",
          ws, wos, r_store, st_store.with_push.size(), wc, woc, r_channel, st_channel.with_push.size(), noise * 100,
          Load1());
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (as_json) std::printf("%s\n", out.dump().c_str());
  return 0;
}

Command reg("peer", "checkpoint peer copies: the store path against the data channel", &RunPeer);

}  // namespace
}  // namespace ogai::bench
