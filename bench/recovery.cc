// ogai-bench recovery: how fast a training job gets going again after a rank dies.
//
// Each run starts `ogai-run -np N --max-restarts 1 CONFIG` (checkpoints every few steps into a
// temp folder, a metrics file per rank, the launcher's event trace), waits until rank 0 has
// completed a step chosen at random after the first checkpoint, SIGKILLs a rank chosen at
// random, and lets the job restart and finish. From the trace and the metrics files
// (CLOCK_REALTIME stamps, all on this machine) it reports, relative to the kill:
//   detect_ms      the launcher has noticed the failure (trace "failure")
//   respawn_ms     the launcher starts the new round's processes (trace "round_start")
//   restart_ms     every rank of the new round is running again: joined the new group
//   ready_ms       every rank has its model and has loaded the checkpoint
//   first_step_ms  every rank has completed its first step after the resume
//   lost_steps     steps completed before the kill that the new round does again
//   load_ms        the slowest rank's checkpoint load (disk or peer memory)
// With --compare-peer, runs alternate between checkpoint.peer_copies 0 and 1 and both are
// reported. Figures are medians over --runs.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/command.h"
#include "bench/stats.h"
#include "core/clock.h"
#include "launcher/node_runner.h"
#include "launcher/process.h"
#include "launcher/remote.h"
#include "train/config.h"

namespace ogai::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kUsage =
    "usage: ogai-bench recovery --config FILE -np N [options] [section.key=value ...]\n"
    "  --config FILE    the training config (e.g. examples/tiny.yaml)\n"
    "  -np N            ranks (parallel.dp is set to N / (tp*pp) unless an override sets it)\n"
    "  --runs R         kills to time; medians are reported (default 5)\n"
    "  --steps S        train.steps of each run (default 40)\n"
    "  --every E        checkpoint.every_steps (default 5)\n"
    "  --seed X         seed of the random kill step and rank (default: from the clock)\n"
    "  --compare-peer   alternate runs with checkpoint.peer_copies 0 and 1\n"
    "  --peer-copies    every run with checkpoint.peer_copies 1\n"
    "  --keep DIR       keep each run's folder (logs, metrics, trace) under DIR\n"
    "  --cold           drop the checkpoint files from the page cache right after the kill,\n"
    "                   as a restart on another machine or after eviction would find them\n"
    "  --json           one JSON object on stdout\n"
    "Keys: detect_ms, restart_ms, first_step_ms, lost_steps (and respawn_ms, ready_ms, load_ms).\n";

std::string LoadAvg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// The JSON lines of a file that parse (a line being written may not yet).
std::vector<json> ReadJsonLines(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.back() != '}') continue;
    try {
      out.push_back(json::parse(line));
    } catch (...) {
    }
  }
  return out;
}

struct Sample {
  bool ok = false;
  std::string error;
  double detect_ms = 0, respawn_ms = 0, restart_ms = 0, ready_ms = 0, first_step_ms = 0, load_ms = 0;
  int64_t lost_steps = 0;
  int victim = 0;
  int64_t kill_after_step = 0;
  std::string source;
};

struct Setup {
  std::string ogai_run;
  std::string config;
  int np = 0;
  int steps = 40;
  int every = 5;
  std::vector<std::string> overrides;
  std::string keep;
  bool cold = false;  // evict the checkpoint files from the page cache right after the kill
};

// Drops the clean pages of every file under `dir` from the page cache (the checkpoint's
// files are fdatasync'ed, so all of theirs), as if they had to come from the disk again.
void EvictFromPageCache(const std::string& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

Sample RunOnce(const Setup& s, bool peer, std::mt19937_64& rng, int index) {
  Sample out;
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/ogai-bench-recovery.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    out.error = "mkdtemp failed under " + tmpl;
    return out;
  }
  const std::string dir = tmpl;
  const std::string trace = dir + "/trace.jsonl";
  std::vector<std::string> argv = {
      s.ogai_run, "-np", std::to_string(s.np), "--oversubscribe", "--max-restarts", "1", "--grace", "2", s.config};
  argv.insert(argv.end(), s.overrides.begin(), s.overrides.end());
  for (const std::string& o :
       std::vector<std::string>{"train.steps=" + std::to_string(s.steps), "train.log_every=1000000",
                                "checkpoint.dir=" + dir + "/ckpt", "checkpoint.every_steps=" + std::to_string(s.every),
                                "checkpoint.peer_copies=" + std::string(peer ? "1" : "0"),
                                "train.metrics_file=" + dir + "/m_{rank}.jsonl"}) {
    argv.push_back(o);
  }
  std::uniform_int_distribution<int> victim_d(0, s.np - 1);
  std::uniform_int_distribution<int> step_d(s.every + 1, std::max(s.every + 1, s.steps - 2 * s.every));
  out.victim = victim_d(rng);
  out.kill_after_step = step_d(rng);

  int log = ::open((dir + "/ogai-run.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  launch::SpawnRequest req;
  req.argv = argv;
  req.env = launch::RankBaseEnv(launch::OwnEnvironment(), {"OGAI_RUN_TRACE=" + trace});
  req.stdout_fd = log;
  req.stderr_fd = log;
  auto pid = launch::Spawn(req);
  ::close(log);
  if (!pid.ok()) {
    out.error = pid.status().ToString();
    return out;
  }
  auto metrics = [&](int rank) { return dir + "/m_" + std::to_string(rank) + ".jsonl"; };
  // Wait for rank 0 to pass the kill step, then kill the victim.
  double t_kill = 0;
  int64_t done_before_kill = 0;
  const double deadline = UnixMs() + 300e3;
  int status = 0;
  bool exited = false;
  while (UnixMs() < deadline) {
    if (::waitpid(*pid, &status, WNOHANG) == *pid) {
      exited = true;
      break;
    }
    int64_t step0 = 0;
    long victim_pid = 0;
    for (const json& j : ReadJsonLines(metrics(0)))
      if (j.contains("step")) step0 = std::max<int64_t>(step0, j["step"].get<int64_t>());
    if (step0 >= out.kill_after_step) {
      for (const json& j : ReadJsonLines(metrics(out.victim)))
        if (j.contains("start") && j["start"]["restart"].get<int>() == 0) victim_pid = j["start"]["pid"].get<long>();
      if (victim_pid > 0) {
        // Steps already completed by every rank (the victim's own file is the slowest).
        int64_t vstep = 0;
        for (const json& j : ReadJsonLines(metrics(out.victim)))
          if (j.contains("step")) vstep = std::max<int64_t>(vstep, j["step"].get<int64_t>());
        t_kill = UnixMs();
        ::kill(static_cast<pid_t>(victim_pid), SIGKILL);
        done_before_kill = vstep;
        if (s.cold) EvictFromPageCache(dir + "/ckpt");
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!exited) {
    while (UnixMs() < deadline && ::waitpid(*pid, &status, WNOHANG) != *pid) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (::waitpid(*pid, &status, WNOHANG) == 0) {
      ::kill(*pid, SIGKILL);
      ::waitpid(*pid, &status, 0);
      out.error = "the job did not finish within 300 s";
    }
  }
  auto fail = [&](const std::string& why) {
    out.error = why + " (folder " + dir + ")";
    return out;
  };
  if (!out.error.empty()) return fail(out.error);
  if (t_kill == 0) {
    // Say why: the last line ogai-run wrote (a config error, say).
    std::ifstream in(dir + "/ogai-run.log");
    std::string line, last;
    while (std::getline(in, line))
      if (!line.empty()) last = line;
    return fail("the job ended (exit " +
                std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) +
                ") before the kill at step " + std::to_string(out.kill_after_step) + (last.empty() ? "" : ": " + last));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return fail("ogai-run ended with " + launch::DescribeWaitStatus(status));
  }
  double t_detect = 0, t_respawn = 0;
  for (const json& j : ReadJsonLines(trace)) {
    if (j["event"] == "failure" && t_detect == 0) t_detect = j["unix_ms"].get<double>();
    if (j["event"] == "round_start" && j["round"].get<int>() == 1) t_respawn = j["unix_ms"].get<double>();
  }
  if (t_detect == 0 || t_respawn == 0) return fail("the trace lacks the failure or the restart");
  double joined = 0, ready = 0, first = 0, load = 0;
  int64_t resume = -1;
  std::string source;
  for (int r = 0; r < s.np; ++r) {
    bool started = false, stepped = false;
    for (const json& j : ReadJsonLines(metrics(r))) {
      if (j.contains("start") && j["start"]["restart"].get<int>() == 1) {
        const json& st = j["start"];
        started = true;
        joined = std::max(joined, st["joined_unix_ms"].get<double>());
        ready = std::max(ready, st["ready_unix_ms"].get<double>());
        load = std::max(load, st["load_ms"].get<double>());
        resume = st["resume_step"].get<int64_t>();
        const std::string src = st["source"].get<std::string>();
        source = source.empty() || source == src ? src : "mixed";
      } else if (started && !stepped && j.contains("step") && j["restart"].get<int>() == 1) {
        stepped = true;
        first = std::max(first, j["unix_ms"].get<double>());
      }
    }
    if (!started || !stepped) return fail("rank " + std::to_string(r) + " has no step after the restart");
  }
  out.detect_ms = t_detect - t_kill;
  out.respawn_ms = t_respawn - t_kill;
  out.restart_ms = joined - t_kill;
  out.ready_ms = ready - t_kill;
  out.first_step_ms = first - t_kill;
  out.load_ms = load;
  out.lost_steps = std::max<int64_t>(0, done_before_kill - resume);
  out.source = source;
  out.ok = true;
  std::error_code ec;
  if (!s.keep.empty()) {
    fs::create_directories(s.keep, ec);
    fs::rename(dir, s.keep + "/run" + std::to_string(index) + (peer ? "_peer" : "_disk"), ec);
  }
  fs::remove_all(dir, ec);
  return out;
}

struct Series {
  std::vector<double> detect, respawn, restart, ready, first, load, lost;
  std::string source;
  void Add(const Sample& s) {
    detect.push_back(s.detect_ms);
    respawn.push_back(s.respawn_ms);
    restart.push_back(s.restart_ms);
    ready.push_back(s.ready_ms);
    first.push_back(s.first_step_ms);
    load.push_back(s.load_ms);
    lost.push_back(static_cast<double>(s.lost_steps));
    source = source.empty() || source == s.source ? s.source : "mixed";
  }
  json Json() const {
    return json{{"runs", detect.size()},
                {"detect_ms", Median(detect)},
                {"respawn_ms", Median(respawn)},
                {"restart_ms", Median(restart)},
                {"ready_ms", Median(ready)},
                {"first_step_ms", Median(first)},
                {"lost_steps", Median(lost)},
                {"load_ms", Median(load)},
                {"load_source", source},
                {"first_step_ms_max", detect.empty() ? 0.0 : *std::max_element(first.begin(), first.end())}};
  }
};

int RunRecovery(int argc, char** argv) {
  Setup s;
  int runs = 5;
  bool as_json = false, compare = false, peer = false;
  uint64_t seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const bool takes = a == "--config" || a == "-np" || a == "-n" || a == "--np" || a == "--runs" || a == "--steps" ||
                       a == "--every" || a == "--seed" || a == "--keep";
    if (takes && i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n%s", a.c_str(), kUsage);
      return 2;
    }
    if (a == "--config") {
      s.config = argv[++i];
    } else if (a == "-np" || a == "-n" || a == "--np") {
      s.np = std::atoi(argv[++i]);
    } else if (a == "--runs") {
      runs = std::atoi(argv[++i]);
    } else if (a == "--steps") {
      s.steps = std::atoi(argv[++i]);
    } else if (a == "--every") {
      s.every = std::atoi(argv[++i]);
    } else if (a == "--seed") {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--keep") {
      s.keep = argv[++i];
    } else if (a == "--json") {
      as_json = true;
    } else if (a == "--compare-peer") {
      compare = true;
    } else if (a == "--cold") {
      s.cold = true;
    } else if (a == "--peer-copies") {
      peer = true;
    } else if (a == "-h" || a == "--help") {
      std::printf("%s", kUsage);
      return 0;
    } else if (IsConfigOverride(a)) {
      s.overrides.push_back(a);
    } else {
      std::fprintf(stderr, "unknown option '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (s.config.empty() || s.np < 1) {
    std::fprintf(stderr, "give --config FILE and -np N (N >= 1)\n%s", kUsage);
    return 2;
  }
  if (runs < 1 || s.every < 1 || s.steps < 3 * s.every + 2) {
    std::fprintf(stderr, "need --runs >= 1, --every >= 1 and --steps >= 3 * every + 2\n");
    return 2;
  }
  auto cfg = LoadConfig(s.config, s.overrides);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.status().ToString().c_str());
    return 2;
  }
  bool dp_given = false;
  for (const std::string& o : s.overrides) dp_given |= o.rfind("parallel.dp=", 0) == 0;
  const int mp = cfg->parallel.tp * cfg->parallel.pp;
  if (!dp_given) {
    if (s.np % mp != 0) {
      std::fprintf(stderr, "-np %d is not a multiple of tp x pp = %d\n", s.np, mp);
      return 2;
    }
    s.overrides.push_back("parallel.dp=" + std::to_string(s.np / mp));
  }
  s.config = fs::absolute(s.config).string();
  s.ogai_run = (fs::path(launch::SelfExecutable()).parent_path() / "ogai-run").string();
  if (::access(s.ogai_run.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "%s not found: build ogai (it sits next to ogai-bench)\n", s.ogai_run.c_str());
    return 1;
  }
  std::mt19937_64 rng(seed);
  const std::string load_before = LoadAvg();
  Series disk, mem;
  int failures = 0;
  for (int r = 0; r < runs; ++r) {
    for (int k = 0; k < (compare ? 2 : 1); ++k) {
      const bool use_peer = compare ? k == 1 : peer;
      Sample x = RunOnce(s, use_peer, rng, r);
      if (!x.ok) {
        std::fprintf(stderr, "run %d failed: %s\n", r, x.error.c_str());
        ++failures;
        continue;
      }
      (use_peer ? mem : disk).Add(x);
      if (!as_json) {
        std::printf(
            "run %d%s: kill rank %d after step %lld: detect %.0f ms, respawn %.0f, restart %.0f, ready %.0f, "
            "first step %.0f ms, lost %lld steps, load %.1f ms (%s)\n",
            r, use_peer ? " (peer copies)" : "", x.victim, static_cast<long long>(x.kill_after_step), x.detect_ms,
            x.respawn_ms, x.restart_ms, x.ready_ms, x.first_step_ms, static_cast<long long>(x.lost_steps), x.load_ms,
            x.source.c_str());
        std::fflush(stdout);
      }
    }
  }
  const std::string load_after = LoadAvg();
  json j;
  j["np"] = s.np;
  j["config"] = s.config;
  j["runs"] = runs;
  j["seed"] = seed;
  j["loadavg_before"] = load_before;
  j["loadavg_after"] = load_after;
  j["cpus"] = ::sysconf(_SC_NPROCESSORS_ONLN);
  j["cold_page_cache"] = s.cold;
  // The top-level figures: the runs as configured (with --compare-peer: those from disk).
  const Series& main_series = peer && !compare ? mem : disk;
  j.update(main_series.Json());
  if (compare) {
    j["disk"] = disk.Json();
    j["peer"] = mem.Json();
  }
  if (as_json) {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    auto line = [](const char* what, const Series& x) {
      if (x.detect.empty()) return;
      std::printf(
          "%s: median of %zu: detect %.0f ms | respawn %.0f ms | restart %.0f ms | ready %.0f ms | first step "
          "%.0f ms | lost %.1f steps | load %.1f ms (%s)\n",
          what, x.detect.size(), Median(x.detect), Median(x.respawn), Median(x.restart), Median(x.ready),
          Median(x.first), Median(x.lost), Median(x.load), x.source.c_str());
    };
    std::printf("ogai-bench recovery: -np %d, %s, load average %s -> %s\n", s.np, s.config.c_str(), load_before.c_str(),
                load_after.c_str());
    line("checkpoint from disk", disk);
    line("checkpoint from peer memory", mem);
  }
  return failures == 0 ? 0 : 1;
}

Command reg("recovery", "kill a rank mid-training: time to detect, restart, resume, first step", &RunRecovery);

}  // namespace
}  // namespace ogai::bench
