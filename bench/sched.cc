// ogai-bench sched: how fast the scheduler decides, how much it adds to a job's start, and
// what a preemption costs (docs/scheduler.md).
//
//   pass_ms             one scheduling pass (sched/policy.h SchedulePass, the decision alone:
//                       no I/O) over a simulated pool: --pending jobs waiting, --tenants
//                       tenants, --nodes nodes of 8 slots, most slots busy; p50 and p99 of --passes
//   submit_overhead_ms  start of `ogai submit` -> the job's first step, minus start of `ogai-run`
//                       -> the same job's first step (medians of --runs, alternating), on an idle
//                       pool of this machine with a real ogai-sched
//   preempt             a tenant borrowing the pool is reclaimed: request_to_freed_ms (the
//                       owner's submit -> the victim's ranks freed, its checkpoint committed),
//                       lost_steps (steps done before the stop that the resumed job does again),
//                       resume_first_step_ms (the victim's restart -> its first step)
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/command.h"
#include "bench/stats.h"
#include "core/clock.h"
#include "core/file_io.h"
#include "launcher/remote.h"
#include "sched/policy.h"

namespace ogai::bench {
namespace {

namespace fs = std::filesystem;
using sched::Job;
using sched::JobState;

constexpr const char* kUsage =
    "usage: ogai-bench sched [--pending N] [--tenants T] [--nodes M] [--passes P] [--runs R] [--no-daemon] [--json]\n"
    "  --pending N   pending jobs in the simulated pass (default 1000)\n"
    "  --tenants T   tenants (default 20)\n"
    "  --nodes M     nodes of 8 slots (default 100)\n"
    "  --passes P    passes timed (default 200)\n"
    "  --runs R      submit-overhead runs per launcher (default 3)\n"
    "  --no-daemon   the pass only (no ogai-sched, no jobs)\n";

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  return v[static_cast<size_t>(std::min<double>(v.size() - 1, p * (v.size() - 1) + 0.5))];
}

sched::PolicyInput Simulated(int pending, int tenants, int nodes) {
  std::mt19937 rng(1234);
  sched::PolicyInput in;
  in.now_unix = 1e6;
  for (int i = 0; i < nodes; ++i) in.nodes.push_back({"node" + std::to_string(i), 8, true, ""});
  for (int t = 0; t < tenants; ++t) {
    sched::Tenant x;
    x.name = "tenant" + std::to_string(t);
    x.quota = nodes * 8 / tenants;
    x.borrow_limit = x.quota / 2;
    x.usage = std::uniform_real_distribution<double>(0, 1e6)(rng);
    in.tenants[x.name] = x;
  }
  int64_t id = 1;
  // Running jobs fill ~90% of the pool, node by node.
  for (int i = 0; i < nodes; ++i) {
    int left = i % 10 == 0 ? 0 : 8;
    while (left > 0) {
      Job j;
      j.id = id++;
      j.tenant = "tenant" + std::to_string(rng() % tenants);
      j.ranks = std::min(left, 1 << (rng() % 4));
      j.state = JobState::kRunning;
      j.hosts = {{"node" + std::to_string(i), j.ranks}};
      j.start_unix = in.now_unix - static_cast<double>(rng() % 3600);
      j.min_runtime_s = (rng() % 4 == 0) ? 7200 : 0;
      j.lost_work = static_cast<double>(rng() % 1000);
      j.priority = static_cast<int>(rng() % 3);
      left -= j.ranks;
      in.jobs.push_back(j);
    }
  }
  for (int k = 0; k < pending; ++k) {
    Job j;
    j.id = id++;
    j.tenant = "tenant" + std::to_string(rng() % tenants);
    j.ranks = 1 << (rng() % 5);  // 1..16
    j.priority = static_cast<int>(rng() % 4);
    j.held = rng() % 20 == 0;
    in.jobs.push_back(j);
  }
  return in;
}

// A process: argv with extra env; stdout+stderr to `log`.
pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::setsid();
  for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
  FILE* f = std::fopen(log.c_str(), "a");
  if (f != nullptr) {
    ::dup2(fileno(f), 1);
    ::dup2(fileno(f), 2);
  }
  std::vector<char*> av;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  ::execv(av[0], av.data());
  ::_exit(127);
}

int WaitExit(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::string Read(const std::string& p) {  // empty while the file is not there yet
  auto text = ReadFile(p);
  return text.ok() ? std::move(*text) : std::string();
}

// unix_ms of the first step line of a metrics file with restart round `restart`... (0 if none)
double FirstStepMs(const std::string& path) {
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("{\"step\": ", 0) != 0) continue;
    const size_t at = line.find("\"unix_ms\": ");
    if (at != std::string::npos) return std::atof(line.c_str() + at + 11);
  }
  return 0;
}

int64_t LastStep(const std::string& path) {
  std::ifstream f(path);
  int64_t last = 0;
  for (std::string line; std::getline(f, line);)
    if (line.rfind("{\"step\": ", 0) == 0) last = std::atoll(line.c_str() + 9);
  return last;
}

int64_t ResumeStep(const std::string& path) {
  const std::string s = Read(path);
  const size_t at = s.find("\"resume_step\": ");
  return at == std::string::npos ? -1 : std::atoll(s.c_str() + at + 15);
}

struct Env {
  std::string bin, dir, sock;
  std::vector<std::string> cli_env;
  std::string Ogai(const std::string& token, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {bin + "/ogai"};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string out = dir + "/cli.out";
    fs::remove(out);
    std::vector<std::string> env = {"OGAI_SCHED=unix:" + sock, "OGAI_SCHED_TOKEN=" + token};
    WaitExit(Spawn(argv, env, out));
    return Read(out);
  }
  std::string State(int64_t id) {
    const std::string s = Ogai(Read(dir + "/state/admin.token").substr(0, 32), {"show", std::to_string(id)});
    const size_t at = s.find("  state:");
    if (at == std::string::npos) return "";
    const size_t b = s.find_first_not_of(' ', at + 8);
    return s.substr(b, s.find_first_of(" ,\n", b) - b);
  }
  bool WaitState(int64_t id, const std::string& st, double timeout) {
    for (double t0 = Now(); Now() - t0 < timeout; ::usleep(50000))
      if (State(id) == st) return true;
    return false;
  }
};

int Run(int argc, char** argv) {
  int pending = 1000, tenants = 20, nodes = 100, passes = 200, runs = 3;
  bool json = false, daemon = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--pending")
      pending = next();
    else if (a == "--tenants")
      tenants = next();
    else if (a == "--nodes")
      nodes = next();
    else if (a == "--passes")
      passes = next();
    else if (a == "--runs")
      runs = next();
    else if (a == "--json")
      json = true;
    else if (a == "--no-daemon")
      daemon = false;
    else {
      std::fprintf(stderr, "%s", kUsage);
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  if (pending <= 0 || tenants <= 0 || nodes <= 0 || passes <= 0 || runs <= 0) {
    std::fprintf(stderr, "ogai-bench sched: every count must be positive\n%s", kUsage);
    return 2;
  }
  // 1. The pass.
  const sched::PolicyInput in = Simulated(pending, tenants, nodes);
  std::vector<double> ms, cpu_ms;
  size_t started = 0, preempted = 0;
  auto thread_cpu_ms = [] {
    timespec ts;
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
  };
  for (int p = 0; p < passes; ++p) {
    const double t0 = Now(), c0 = thread_cpu_ms();
    const sched::PolicyOutput out = sched::SchedulePass(in);
    ms.push_back((Now() - t0) * 1e3);
    cpu_ms.push_back(thread_cpu_ms() - c0);
    started = out.start.size();
    preempted = out.preempt.size();
  }
  std::string result = "{\"pending\": " + std::to_string(pending) + ", \"tenants\": " + std::to_string(tenants) +
                       ", \"nodes\": " + std::to_string(nodes) + ", \"passes\": " + std::to_string(passes);
  char b[512];
  std::snprintf(b, sizeof(b),
                ", \"pass_ms_p50\": %.3f, \"pass_ms_p99\": %.3f, \"pass_cpu_ms_p50\": %.3f, \"pass_cpu_ms_p99\": %.3f, "
                "\"pass_started\": %zu, \"pass_preempted\": %zu",
                Percentile(ms, 0.5), Percentile(ms, 0.99), Percentile(cpu_ms, 0.5), Percentile(cpu_ms, 0.99), started,
                preempted);
  result += b;
  if (daemon) {
    Env e;
    e.bin = launch::SelfExecutable();
    e.bin = e.bin.substr(0, e.bin.rfind('/'));
    char tmpl[] = "/tmp/ogai-bench-sched.XXXXXX";
    e.dir = ::mkdtemp(tmpl);
    e.sock = e.dir + "/state/sched.sock";
    std::ofstream(e.dir + "/pool") << "localhost slots=4\n";
    std::ofstream(e.dir + "/tenants.yaml") << "tenants:\n  alice: {quota: 2, borrow: 2, token: tok-alice}\n"
                                              "  bob: {quota: 2, token: tok-bob}\n";
    // The tiny model of examples/tiny.yaml.
    const std::string cfg = e.dir + "/tiny.yaml";
    std::ofstream(cfg) << "model: {layers: 2, heads: 4, d_model: 128, vocab: 256, seq_len: 64}\n"
                          "data: {source: demo, demo_tokens: 1000000, demo_seed: 1234}\n"
                          "train: {steps: 150, micro_batch: 2, global_batch: 8, lr: 3.0e-3, warmup: 15, seed: 42}\n";
    const pid_t d = Spawn({e.bin + "/ogai-sched", "--state", e.dir + "/state", "--pool", e.dir + "/pool", "--tenants",
                           e.dir + "/tenants.yaml", "--tick-ms", "100"},
                          {"OMP_NUM_THREADS=1"}, e.dir + "/daemon.log");
    for (int k = 0; k < 100 && !fs::exists(e.sock); ++k) ::usleep(100000);
    // 2. Submit overhead: sched and ogai-run alternating, 1 rank, 2 steps.
    std::vector<double> via_sched, direct;
    int64_t id = 0;
    for (int r = 0; r < runs; ++r) {
      const double t0 = UnixMs();
      const std::string out = e.Ogai("tok-alice", {"submit", cfg, "-np", "1", "train.steps=2"});
      if (out.rfind("submitted job ", 0) != 0) {
        std::fprintf(stderr, "ogai-bench sched: submit failed: %s", out.c_str());
        break;
      }
      id = std::atoll(out.c_str() + 14);
      e.WaitState(id, "COMPLETED", 120);
      const std::string dir = e.dir + "/state/jobs/" + std::to_string(id);
      via_sched.push_back(FirstStepMs(dir + "/metrics.a1.rank0.jsonl") - t0);
      const std::string m = e.dir + "/direct" + std::to_string(r) + ".jsonl";
      const double t1 = UnixMs();
      WaitExit(Spawn({e.bin + "/ogai-run", "-np", "1", cfg, "train.steps=2", "train.metrics_file=" + m},
                     {"OMP_NUM_THREADS=1"}, e.dir + "/direct.log"));
      direct.push_back(FirstStepMs(m) - t1);
    }
    std::snprintf(
        b, sizeof(b),
        ", \"submit_to_first_step_ms\": %.1f, \"ogai_run_to_first_step_ms\": %.1f, \"submit_overhead_ms\": %.1f",
        Median(via_sched), Median(direct), Median(via_sched) - Median(direct));
    result += b;
    // 3. Preemption: alice borrows the pool, bob reclaims his quota.
    const std::string a1 =
        e.Ogai("tok-alice", {"submit", cfg, "-np", "2", "--min-runtime", "1h", "parallel.dp=2", "train.steps=100000"});
    const std::string a2 = e.Ogai(
        "tok-alice", {"submit", cfg, "-np", "2", "parallel.dp=2", "train.steps=300", "checkpoint.every_steps=0"});
    const int64_t id1 = std::atoll(a1.c_str() + 14), id2 = std::atoll(a2.c_str() + 14);
    const std::string d2 = e.dir + "/state/jobs/" + std::to_string(id2);
    for (double t0 = Now(); Now() - t0 < 120 && LastStep(d2 + "/metrics.a1.rank0.jsonl") < 30;) ::usleep(50000);
    const double t_req = UnixMs();
    const std::string bsub = e.Ogai("tok-bob", {"submit", cfg, "-np", "2", "parallel.dp=2", "train.steps=5"});
    const int64_t idb = std::atoll(bsub.c_str() + 14);
    e.WaitState(id2, "PENDING", 120);
    const double t_freed = UnixMs();
    e.WaitState(idb, "COMPLETED", 120);
    e.WaitState(id2, "RUNNING", 120);
    const double t_restart = UnixMs();
    for (double t0 = Now(); Now() - t0 < 120 && FirstStepMs(d2 + "/metrics.a2.rank0.jsonl") == 0;) ::usleep(50000);
    const int64_t before = LastStep(d2 + "/metrics.a1.rank0.jsonl");
    const int64_t resumed = ResumeStep(d2 + "/metrics.a2.rank0.jsonl");
    std::snprintf(b, sizeof(b),
                  ", \"preempt_request_to_freed_ms\": %.0f, \"preempt_checkpoint_step\": %lld, \"lost_steps\": %lld, "
                  "\"resume_first_step_ms\": %.0f",
                  t_freed - t_req, static_cast<long long>(resumed), static_cast<long long>(before - resumed),
                  FirstStepMs(d2 + "/metrics.a2.rank0.jsonl") - t_restart);
    result += b;
    e.Ogai(Read(e.dir + "/state/admin.token").substr(0, 32), {"cancel", std::to_string(id1)});
    e.Ogai(Read(e.dir + "/state/admin.token").substr(0, 32), {"cancel", std::to_string(id2)});
    e.WaitState(id1, "CANCELLED", 60);
    e.WaitState(id2, "CANCELLED", 60);
    ::kill(d, SIGTERM);
    WaitExit(d);
    fs::remove_all(e.dir);
  }
  result += "}";
  if (json) {
    std::printf("%s\n", result.c_str());
  } else {
    std::printf("ogai-bench sched: %s\n", result.c_str());
  }
  return 0;
}

Command reg("sched", "scheduler: pass time, submit overhead, preemption cost", &Run);

}  // namespace
}  // namespace ogai::bench
