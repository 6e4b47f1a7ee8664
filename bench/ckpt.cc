// ogai-bench ckpt: what a checkpoint costs the training loop, against what the disk can do.
//
// In one run, on the same state (parameters + AdamW moments of --config's model):
//   stall_ms       time the training loop waited per async save (the Save call plus the
//                  optimizer-step fence), median over --repeats saves taken while training
//   sync_save_ms   a synchronous save of the same state (write, fsync, manifest, latest)
//   write_gbs      the writer's throughput: shard bytes / (first write .. fdatasync returned)
//                  in the synchronous saves, chunking and checksums included (the async
//                  saves' figure, taken while training shares the CPUs, is async_write_gbs)
//   raw_write_gbs  the same bytes written sequentially (writev of the state's slices) and
//                  fdatasync'ed: the disk's baseline, measured alternately with the saves;
//                  write_fraction is the median over rounds of raw time / writer time
//   raw_direct_write_gbs  the same bytes with O_DIRECT (through an 8 MiB aligned buffer, as
//                  the writer's synchronous saves do); equals raw_write_gbs where the file
//                  system has no O_DIRECT
//   load_ms        loading the checkpoint back (every chunk's CRC checked; page cache warm)
//   step_ms, step_ms_during_save, step_slowdown (their ratio): training steps without a save
//                  and while the async writer saves (medians); async_write_fraction: median
//                  over rounds of raw time / async write time (the save taken while training
//                  runs); writer_cpu_ms: the writer's CPU time per async save (its threads;
//                  kernel writeback is not in it); save_cost_ms: per save, the steps that ran
//                  during it less as many step_ms (the median hides a slow first step).
//                  These are of saves taken as the training loop takes them (due at the end
//                  of a step: the optimizer writes the snapshot into staging in its pass);
//                  "copy" holds the same figures for saves whose snapshot the writer's thread
//                  copies while the next step runs (what every async save did before), and
//                  capture_ms is that copy's time; worst_step_ms: the slowest step of a save
//                  (median over the saves). Each save follows five uncounted steps.
// Targets (issue 6): stall <= 5% of the synchronous save; write >= 80% of raw.
// Targets (issue 16): step_slowdown <= 1.10 with async_write_fraction >= 0.8.
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/command.h"
#include "bench/stats.h"
#include "ckpt/direct_file.h"
#include "ckpt/format.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/memory.h"
#include "kernels/cpu/gemm.h"
#include "train/config.h"
#include "train/trainer.h"

namespace ogai::bench {
namespace {

constexpr const char* kUsage =
    "usage: ogai-bench ckpt --config FILE [--json] [--repeats N] [--seq N] [--dir DIR]\n"
    "                       [section.key=value ...]\n"
    "  --repeats N   saves of each kind, and loads (default 3); medians are reported\n"
    "  --seq N       model.seq_len for the training steps between saves (default 64; the\n"
    "                state changes only by the position-embedding rows)\n"
    "  --dir DIR     where to write (default: a fresh directory under $TMPDIR or /tmp,\n"
    "                removed afterwards)\n"
    "  --json        one JSON object: stall_ms, sync_save_ms, write_gbs, raw_write_gbs,\n"
    "                load_ms, and more\n";

// The raw baseline: the same bytes (the state's slices, a 64-byte header's worth of zeros
// first) written sequentially with as few writev calls as possible, then fdatasync; no
// chunking, no checksums, no manifest. Seconds.
Result<double> RawWrite(const std::string& path, const std::vector<ckpt::ConstSlice>& slices) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create " + path, errno);
  const double t0 = Now();  // the writer's write_s too runs from the first write to fdatasync
  static const uint8_t zeros[ckpt::kShardHeaderBytes] = {};
  Status st = WriteAllFd(fd, zeros, sizeof(zeros), path);
  std::vector<struct iovec> iov;
  size_t bytes = 0;
  auto flush = [&]() {
    size_t i = 0;
    while (st.ok() && bytes > 0) {
      ssize_t w = ::writev(fd, iov.data() + i, static_cast<int>(iov.size() - i));
      if (w < 0) {
        if (errno == EINTR) continue;
        st = ErrnoError("writing " + path, errno);
        break;
      }
      bytes -= static_cast<size_t>(w);
      size_t left = static_cast<size_t>(w);
      while (i < iov.size() && left >= iov[i].iov_len) left -= iov[i++].iov_len;
      if (i < iov.size()) {
        iov[i].iov_base = static_cast<uint8_t*>(iov[i].iov_base) + left;
        iov[i].iov_len -= left;
      }
    }
    iov.clear();
  };
  for (const auto& s : slices) {
    iov.push_back({const_cast<float*>(s.data), static_cast<size_t>(s.region.numel()) * 4});
    bytes += iov.back().iov_len;
    if (iov.size() == 64) flush();
  }
  flush();
  if (st.ok() && ::fdatasync(fd) != 0) st = ErrnoError("fdatasync " + path, errno);
  const double t = Now() - t0;
  ::close(fd);
  ::unlink(path.c_str());
  if (!st.ok()) return st;
  return t;
}

// The raw baseline with O_DIRECT: the slices gathered into an 8 MiB ckpt::DirectBuffer and
// appended to the file with O_DIRECT (ckpt/direct_file.h), then fdatasync. Seconds.
Result<double> RawDirectWrite(const std::string& path, const std::vector<ckpt::ConstSlice>& slices) {
  ckpt::DirectBuffer buf(8 << 20);
  ckpt::DirectFile f;
  OGAI_RETURN_IF_ERROR(f.Open(path, /*try_direct=*/true));
  const double t0 = Now();
  static const uint8_t zeros[ckpt::kShardHeaderBytes] = {};
  Status st = buf.Add(zeros, sizeof(zeros), f);  // a header's worth of zeros first
  for (const auto& s : slices) {
    if (st.ok()) st = buf.Add(s.data, static_cast<size_t>(s.region.numel()) * 4, f);
  }
  if (st.ok()) st = buf.Flush(f);
  if (st.ok()) st = f.Sync();
  const double t = Now() - t0;
  (void)f.Close();
  ::unlink(path.c_str());
  if (!st.ok()) return st;
  return t;
}

int Run(int argc, char** argv) {
  std::string config_path, dir;
  int repeats = 3, seq = 64;
  bool json = false;
  std::vector<std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--config" || a == "--dir" || a == "--repeats" || a == "--seq") {
      const char* v = next();
      if (v == nullptr) {
        std::fprintf(stderr, "ogai-bench ckpt: %s needs a value\n%s", a.c_str(), kUsage);
        return 2;
      }
      if (a == "--config") config_path = v;
      if (a == "--dir") dir = v;
      if (a == "--repeats" || a == "--seq") {
        char* end = nullptr;
        const long n = std::strtol(v, &end, 10);
        if (*end != '\0' || n < 1) {
          std::fprintf(stderr, "ogai-bench ckpt: %s must be a whole number >= 1, got '%s'\n", a.c_str(), v);
          return 2;
        }
        (a == "--repeats" ? repeats : seq) = static_cast<int>(n);
      }
    } else if (a == "--json") {
      json = true;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (IsConfigOverride(a)) {
      overrides.push_back(a);
    } else {
      std::fprintf(stderr, "ogai-bench ckpt: unknown argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "ogai-bench ckpt: --config FILE is required\n%s", kUsage);
    return 2;
  }
  bool own_dir = false;
  if (dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t != nullptr && *t ? t : "/tmp") + "/ogai-bench-ckpt-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::fprintf(stderr, "ogai-bench ckpt: cannot create a directory under %s: %s\n", t ? t : "/tmp",
                   std::strerror(errno));
      return 1;
    }
    dir = tmpl;
    own_dir = true;
  }
  struct Cleanup {
    std::string dir;
    bool on;
    ~Cleanup() {
      std::error_code ec;
      if (on) std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir, own_dir};

  std::vector<std::string> o = {"model.seq_len=" + std::to_string(seq),
                                "train.steps=1000000000",
                                "checkpoint.dir=" + ckpt::JoinPath(dir, "async"),
                                "checkpoint.every_steps=0",
                                "checkpoint.keep_last=2",
                                "checkpoint.async=true",
                                "checkpoint.resume=none",
                                "train.metrics_file="};
  o.insert(o.end(), overrides.begin(), overrides.end());
  auto cfg = LoadConfig(config_path, o);
  if (!cfg.ok()) {
    std::fprintf(stderr, "ogai-bench ckpt: %s\n", cfg.status().ToString().c_str());
    return 2;
  }
  if (Status st = kernels::ApplyGemmBackendFromEnv(); !st.ok()) {
    std::fprintf(stderr, "ogai-bench ckpt: %s\n", st.ToString().c_str());
    return 2;
  }
  train::TrainerOptions topts;
  topts.print = false;
  auto trainer = train::Trainer::Create(*cfg, {}, topts);
  if (!trainer.ok()) {
    std::fprintf(stderr, "ogai-bench ckpt: %s\n", trainer.status().ToString().c_str());
    return 1;
  }
  train::Trainer& T = **trainer;
  train::Checkpointing& C = T.checkpointing();
  auto fail = [](const Status& st) {
    std::fprintf(stderr, "ogai-bench ckpt: %s\n", st.ToString().c_str());
    return 1;
  };

  // Per repeat, alternately (so that all see the same disk and the same neighbours): the raw
  // baselines; a save taken the way the training loop takes them (due at the end of a step:
  // the optimizer writes the snapshot into staging as it updates, then the writer checksums,
  // writes and commits while the next steps run); the same with the writer's own copy of the
  // state (a save started between steps, Checkpointing::SaveNow: what every save did before);
  // a synchronous save of the same state. The steps of a save run until the writer is idle,
  // the step whose optimizer wrote the snapshot included.
  std::vector<double> step_plain, stalls, sync_s, sync_write_s, raw_s, raw_direct_s, ratio;
  struct Kind {
    std::vector<double> steps, per_save, sum, async_ratio, worst;
  } staged, copied;
  if (Status st = T.Step(nullptr); !st.ok()) return fail(st);  // warm-up
  int64_t bytes = 0;
  auto save_while_training = [&](Kind& k, bool by_optimizer) -> Status {
    train::StepStats s;
    // Five steps first, not counted: what ran before has settled, as between a job's saves.
    // (Measured here: the third step after the raw writes ran 150-190 ms slow whatever came
    // next, the file's freed page cache being released by the kernel a second or two later.)
    for (int i = 0; i < 5; ++i) OGAI_RETURN_IF_ERROR(T.Step(&s));
    if (by_optimizer) {
      C.RequestSave(T.step() + 1);
    } else {
      OGAI_RETURN_IF_ERROR(C.SaveNow(T.step()));
    }
    int during = 0;
    k.sum.push_back(0);
    do {
      OGAI_RETURN_IF_ERROR(T.Step(&s));
      k.steps.push_back(s.seconds);
      k.sum.back() += s.seconds;
      ++during;
    } while (C.writer()->busy());
    OGAI_RETURN_IF_ERROR(C.writer()->Wait());
    const ckpt::SaveStats w = C.writer()->stats().back();
    if (w.staged != by_optimizer) return Internal("the save was not taken the intended way");
    stalls.push_back(C.stalls().back());
    bytes = w.bytes;
    k.async_ratio.push_back(raw_s.back() / w.write_s);
    k.per_save.push_back(during);
    k.worst.push_back(*std::max_element(k.steps.end() - during, k.steps.end()));
    return Status::Ok();
  };
  for (int r = 0; r < repeats; ++r) {
    train::StepStats s;
    for (int k = 0; k < 2; ++k) {  // two plain steps per round: a steadier baseline
      if (Status st = T.Step(&s); !st.ok()) return fail(st);
      step_plain.push_back(s.seconds);
    }
    auto rt = RawWrite(ckpt::JoinPath(dir, "raw.bin"), C.WritePlan());
    if (!rt.ok()) return fail(rt.status());
    raw_s.push_back(*rt);
    auto rd = RawDirectWrite(ckpt::JoinPath(dir, "raw_direct.bin"), C.WritePlan());
    if (!rd.ok()) return fail(rd.status());
    raw_direct_s.push_back(*rd);
    // The raw files are gone again; their blocks are freed (and, on a file system mounted
    // with discard, discarded) at the next journal commit, seconds later, which would land in
    // the middle of the steps measured next. sync(2) commits now.
    ::sync();
    if (Status st = save_while_training(staged, true); !st.ok()) return fail(st);
    if (Status st = save_while_training(copied, false); !st.ok()) return fail(st);
    const double t0 = Now();
    auto ss = C.SaveSync(T.step(), ckpt::JoinPath(dir, "sync"));
    if (!ss.ok()) return fail(ss.status());
    sync_s.push_back(Now() - t0);
    sync_write_s.push_back(ss->write_s);
    ratio.push_back(raw_s.back() / ss->write_s);
    if (!json) {
      auto last_steps = [](const Kind& k) {
        std::string o;
        for (size_t i = k.steps.size() - static_cast<size_t>(k.per_save.back()); i < k.steps.size(); ++i) {
          o += (o.empty() ? "" : " ") + std::to_string(static_cast<int>(k.steps[i] * 1e3));
        }
        return o;
      };
      std::fprintf(stderr,
                   "  round %d: a save's steps took %s ms (with the writer's copy %s ms), sync save %.1f ms, raw %.1f "
                   "ms\n",
                   r + 1, last_steps(staged).c_str(), last_steps(copied).c_str(), sync_s.back() * 1e3,
                   raw_s.back() * 1e3);
    }
  }
  std::vector<double> write_s, capture_s, cpu_s, cpu_copy_s, save_s;
  int64_t direct_bytes = 0, async_bytes = 0;
  for (const auto& w : C.writer()->stats()) {
    if (w.staged) {
      write_s.push_back(w.write_s);
      cpu_s.push_back(w.cpu_s);
      save_s.push_back(w.total_s);
    } else {
      capture_s.push_back(w.capture_s);
      cpu_copy_s.push_back(w.cpu_s);
    }
    direct_bytes += w.direct_bytes;
    async_bytes += w.bytes;
  }
  // Loads (the latest async checkpoint; every chunk verified).
  std::vector<double> load_s;
  auto async_list = ckpt::ListCheckpoints(ckpt::JoinPath(dir, "async"));
  if (!async_list.ok() || async_list->empty()) return fail(Internal("no async checkpoint was written"));
  for (int r = 0; r < repeats; ++r) {
    const double t0 = Now();
    int64_t step = 0;
    if (Status st = C.Load(async_list->back().path, &step); !st.ok()) return fail(st);
    load_s.push_back(Now() - t0);
  }

  const double stall = Median(stalls), sync = Median(sync_s), raw_t = Median(raw_s);
  const double write_gbs = bytes / Median(sync_write_s) / 1e9, raw_gbs = bytes / raw_t / 1e9;
  const double async_gbs = bytes / Median(write_s) / 1e9, raw_direct_gbs = bytes / Median(raw_direct_s) / 1e9;
  const double plain = Median(step_plain);
  const double slowdown = Median(staged.steps) / plain, slowdown_copy = Median(copied.steps) / plain;
  // What a save costs the loop in all: the steps it overlapped, less as many plain steps.
  auto cost_of = [&](const Kind& k) {
    std::vector<double> c;
    for (size_t r = 0; r < k.sum.size(); ++r) c.push_back(k.sum[r] - k.per_save[r] * plain);
    return Median(c);
  };
  const double direct_fraction = async_bytes > 0 ? static_cast<double>(direct_bytes) / async_bytes : 0.0;
  if (json) {
    std::printf(
        "{\"stall_ms\": %.3f, \"sync_save_ms\": %.1f, \"write_gbs\": %.3f, \"raw_write_gbs\": %.3f, "
        "\"load_ms\": %.1f, \"bytes\": %lld, \"async_write_gbs\": %.3f, \"capture_ms\": %.1f, "
        "\"stall_fraction\": %.5f, \"write_fraction\": %.3f, \"step_ms\": %.1f, \"step_ms_during_save\": %.1f, "
        "\"step_slowdown\": %.3f, \"async_write_fraction\": %.3f, \"raw_direct_write_gbs\": %.3f, "
        "\"writer_cpu_ms\": %.1f, \"save_cost_ms\": %.1f, \"save_ms\": %.1f, \"steps_per_save\": %.1f, "
        "\"direct_fraction\": %.3f, \"worst_step_ms\": %.1f, \"copy\": {\"step_ms_during_save\": %.1f, "
        "\"step_slowdown\": %.3f, \"save_cost_ms\": %.1f, \"writer_cpu_ms\": %.1f, \"steps_per_save\": %.1f, "
        "\"async_write_fraction\": %.3f, \"worst_step_ms\": %.1f}, "
        "\"repeats\": %d, \"seq_len\": %d}\n",
        stall * 1e3, sync * 1e3, write_gbs, raw_gbs, Median(load_s) * 1e3, static_cast<long long>(bytes), async_gbs,
        Median(capture_s) * 1e3, stall / sync, Median(ratio), plain * 1e3, Median(staged.steps) * 1e3, slowdown,
        Median(staged.async_ratio), raw_direct_gbs, Median(cpu_s) * 1e3, cost_of(staged) * 1e3, Median(save_s) * 1e3,
        Median(staged.per_save), direct_fraction, Median(staged.worst) * 1e3, Median(copied.steps) * 1e3, slowdown_copy,
        cost_of(copied) * 1e3, Median(cpu_copy_s) * 1e3, Median(copied.per_save), Median(copied.async_ratio),
        Median(copied.worst) * 1e3, repeats, seq);
  } else {
    std::printf("ogai-bench ckpt: %s, %s of state per save (medians of %d)\n", config_path.c_str(),
                FormatBytes(bytes).c_str(), repeats);
    std::printf("  training-loop stall per async save %10.1f ms  (%.2f%% of a synchronous save; target <= 5%%)\n",
                stall * 1e3, 100 * stall / sync);
    std::printf("  synchronous save (all of it)       %10.1f ms\n", sync * 1e3);
    std::printf(
        "  writer: chunks + CRC + fdatasync   %10.3f GB/s (%.0f%% of raw, median of the rounds' ratios; target >= "
        "80%%)\n",
        write_gbs, 100 * Median(ratio));
    std::printf("  raw sequential write + fdatasync   %10.3f GB/s\n", raw_gbs);
    std::printf("  raw with O_DIRECT + fdatasync      %10.3f GB/s\n", raw_direct_gbs);
    std::printf(
        "  async writer while training runs   %10.3f GB/s (%.0f%% of raw; target >= 80%%; %.0f%% of the bytes "
        "O_DIRECT)\n",
        async_gbs, 100 * Median(staged.async_ratio), 100 * direct_fraction);
    std::printf("  async save, Save() to committed    %10.1f ms, writer CPU %.1f ms, cost to the steps %.1f ms\n",
                Median(save_s) * 1e3, Median(cpu_s) * 1e3, cost_of(staged) * 1e3);
    std::printf("  load (every chunk verified)        %10.1f ms\n", Median(load_s) * 1e3);
    std::printf(
        "  step time                          %10.1f ms, %.1f ms while a save is written (x%.3f; target <= 1.10),\n"
        "                                     the slowest step of a save %.1f ms\n",
        plain * 1e3, Median(staged.steps) * 1e3, slowdown, Median(staged.worst) * 1e3);
    std::printf(
        "  with the writer's copy instead     %10.1f ms while a save is written (x%.3f), cost to the steps %.1f ms,\n"
        "                                     the slowest step %.1f ms; snapshot copy %.1f ms, writer CPU %.1f ms\n",
        Median(copied.steps) * 1e3, slowdown_copy, cost_of(copied) * 1e3, Median(copied.worst) * 1e3,
        Median(capture_s) * 1e3, Median(cpu_copy_s) * 1e3);
  }
  return 0;
}

Command reg("ckpt", "checkpoint stall, sync save, write GB/s against raw, load", &Run);

}  // namespace
}  // namespace ogai::bench
