// ogai-bench dashboard: what a browser open on a running job's dashboard page costs the job's
// ranks (docs/dashboard.md). A real ogai-sched with --http runs the same small training job
// --runs times with a headless Chromium open on the job's page (/job/ID, polling the metrics,
// the job and its log every 1.5-2 s) and --runs times without, alternating (without, with,
// with, without, ...), and compares the median step time of each run (steps after the first
// --warmup left out).
//
//   step_ms_without / step_ms_with   medians over runs of each run's median step time
//   ratio                            with / without (1.0: no cost)
//   paired_ratio                     the median over pairs of consecutive runs (one with, one
//                                    without) of with / without: less swayed by a machine
//                                    whose load drifts during the benchmark
//   spread_without / spread_with     (max - min) / median of the runs' medians: the noise
//   browser_cpu_share                the CPU the browser used (all its processes, user + system)
//                                    per second of a run, median over the browser runs: 0.05 is
//                                    5% of one core
//   page_polls_min                   the fewest metrics polls a browser run made (read from the
//                                    page's title through Chromium's DevTools list), so a
//                                    browser that showed nothing does not pass for "no cost"
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/command.h"
#include "bench/stats.h"
#include "core/clock.h"
#include "core/file_io.h"
#include "launcher/process.h"
#include "launcher/remote.h"

namespace ogai::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kUsage =
    "usage: ogai-bench dashboard [--runs R] [--steps S] [--np N] [--warmup W] [--json]\n"
    "  --runs R    runs with and runs without the browser, alternating (default 3)\n"
    "  --steps S   training steps per run (default 300)\n"
    "  --np N      ranks of the job, data parallel (default 2)\n"
    "  --warmup W  first steps of each run left out of its median (default 20)\n";
constexpr const char* kChromium = "/usr/bin/chromium";
constexpr const char* kToken = "tok-bench";

extern "C" char** environ;

std::vector<std::string> Environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// Starts argv in a session of its own, stdout and stderr appended to `log`.
pid_t Start(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& log) {
  FILE* f = std::fopen(log.c_str(), "a");
  launch::SpawnRequest req;
  req.argv = argv;
  req.env = Environment(env);
  req.stdout_fd = req.stderr_fd = f ? fileno(f) : -1;
  auto pid = launch::Spawn(req);
  if (f) std::fclose(f);
  return pid.ok() ? *pid : -1;
}

int Wait(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Kills a session (the process group `pid` leads) and reaps its leader.
void Stop(pid_t pid) {
  if (pid <= 0) return;
  ::kill(-pid, SIGKILL);
  Wait(pid);
}

std::string Read(const std::string& p) {
  auto t = ReadFile(p);
  return t.ok() ? std::move(*t) : std::string();
}

json Get(int port, const std::string& path) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(10);
  httplib::Headers h = {{"Authorization", std::string("Bearer ") + kToken}};
  auto r = cli.Get(path, h);
  if (!r || r->status != 200) return nullptr;
  return json::parse(r->body, nullptr, false);
}

// The metrics polls the page has made, from its title "ogai · job ID · step K" changes seen
// through Chromium's DevTools list (/json/list on the port it wrote into DevToolsActivePort).
struct PagePolls {
  std::string profile, last;
  int changes = 0;
  void Sample() {
    const std::string port = Read(profile + "/DevToolsActivePort");
    if (port.empty()) return;
    httplib::Client cli("127.0.0.1", std::atoi(port.c_str()));
    cli.set_read_timeout(5);
    auto r = cli.Get("/json/list");
    if (!r) return;
    for (const auto& t : json::parse(r->body, nullptr, false)) {
      if (!t.is_object() || t.value("type", "") != "page") continue;
      const std::string title = t.value("title", "");
      if (title.find("step ") != std::string::npos && title != last) {
        last = title;
        ++changes;
      }
    }
  }
};

// CPU seconds (user + system) used so far by the processes of the session `sid` leads.
double SessionCpuSeconds(pid_t sid) {
  double ticks = 0;
  for (pid_t p : launch::ProcessesInSessions({sid})) {
    const std::string st = Read("/proc/" + std::to_string(p) + "/stat");
    const size_t rp = st.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream in(st.substr(rp + 1));
    std::vector<std::string> f;
    for (std::string x; in >> x;) f.push_back(x);
    if (f.size() > 12) ticks += std::atof(f[11].c_str()) + std::atof(f[12].c_str());  // utime, stime
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Each run's median step time, from rank 0's metrics file (steps after `warmup`).
double MedianStepMs(const std::string& path, int warmup) {
  std::vector<double> ms;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("{\"step\": ", 0) != 0) continue;
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("step", 0) > warmup) ms.push_back(j.value("ms", 0.0));
  }
  return Median(ms);
}

int Run(int argc, char** argv) {
  int runs = 3, steps = 300, np = 2, warmup = 20;
  bool as_json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--runs") {
      runs = next();
    } else if (a == "--steps") {
      steps = next();
    } else if (a == "--np") {
      np = next();
    } else if (a == "--warmup") {
      warmup = next();
    } else if (a == "--json") {
      as_json = true;
    } else {
      std::fprintf(stderr, "%s", kUsage);
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  if (runs <= 0 || np <= 0 || steps <= warmup + 10) {
    std::fprintf(stderr, "ogai-bench dashboard: --runs and --np must be positive and --steps > --warmup + 10\n%s",
                 kUsage);
    return 2;
  }
  if (::access(kChromium, X_OK) != 0) {
    std::fprintf(stderr, "ogai-bench dashboard: no %s (Debian's chromium; scripts/deps.sh installs it)\n", kChromium);
    return 1;
  }
  std::string bin = launch::SelfExecutable();
  bin = bin.substr(0, bin.rfind('/'));
  char tmpl[] = "/tmp/ogai-bench-dashboard.XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  std::ofstream(dir + "/pool") << "localhost slots=" << np << "\n";
  std::ofstream(dir + "/tenants.yaml") << "tenants:\n  bench: {quota: " << np << ", token: " << kToken << "}\n";
  // The tiny model of examples/tiny.yaml.
  const std::string cfg = dir + "/tiny.yaml";
  std::ofstream(cfg) << "model: {layers: 2, heads: 4, d_model: 128, vocab: 256, seq_len: 64}\n"
                        "data: {source: demo, demo_tokens: 1000000, demo_seed: 1234}\n"
                        "train: {steps: "
                     << steps
                     << ", micro_batch: 2, global_batch: 8, lr: 3.0e-3, warmup: 15, seed: 42}\n"
                        "checkpoint: {every_steps: 100, keep_last: 2}\n";
  const pid_t daemon = Start({bin + "/ogai-sched", "--state", dir + "/state", "--pool", dir + "/pool", "--tenants",
                              dir + "/tenants.yaml", "--http", "127.0.0.1:0"},
                             {"OMP_NUM_THREADS=1"}, dir + "/daemon.log");  // one thread per rank, as the tests do
  int port = 0;
  for (int k = 0; k < 100 && port == 0; ++k, ::usleep(100000)) port = std::atoi(Read(dir + "/state/http.port").c_str());
  if (port == 0) {
    std::fprintf(stderr, "ogai-bench dashboard: ogai-sched did not start: %s\n", Read(dir + "/daemon.log").c_str());
    Stop(daemon);
    fs::remove_all(dir);
    return 1;
  }
  std::vector<double> with, without;
  std::vector<double> pair_ms[2];  // this pair of runs' median step time, without [0] and with [1]
  std::vector<double> paired;      // with / without of each pair of consecutive runs
  int min_polls = -1;
  std::vector<double> browser_cpu;  // the browser's CPU seconds per second of the run
  bool failed = false;
  for (int r = 0; r < 2 * runs && !failed; ++r) {
    const bool browser = (r % 4 == 1) || (r % 4 == 2);  // without, with, with, without, ...
    const std::string out = dir + "/submit.out";
    fs::remove(out);
    const pid_t sub =
        Start({bin + "/ogai", "submit", cfg, "-np", std::to_string(np), "parallel.dp=" + std::to_string(np)},
              {"OGAI_SCHED=unix:" + dir + "/state/sched.sock", std::string("OGAI_SCHED_TOKEN=") + kToken}, out);
    Wait(sub);
    const std::string said = Read(out);
    if (said.rfind("submitted job ", 0) != 0) {
      std::fprintf(stderr, "ogai-bench dashboard: submit failed: %s", said.c_str());
      failed = true;
      break;
    }
    const std::string id = std::to_string(std::atoll(said.c_str() + 14));
    pid_t chrome = -1;
    PagePolls polls;
    polls.profile = dir + "/chrome" + std::to_string(r);
    if (browser) {
      // Opened while the job is queued or starting, as a person would: the page follows it.
      chrome = Start(
          {kChromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           "--disable-extensions", "--remote-debugging-port=0", "--user-data-dir=" + polls.profile,
           "--window-size=1400,1000", "http://127.0.0.1:" + std::to_string(port) + "/job/" + id + "#token=" + kToken},
          {}, dir + "/chrome.log");
    }
    std::string state;
    json info;
    double cpu = 0;
    const double t_start = Now();
    for (; Now() - t_start < 900; ::usleep(250000)) {
      info = Get(port, "/api/jobs/" + id);
      state = info.is_object() ? info.value("state", "") : "";
      if (browser) {
        polls.Sample();
        cpu = std::max(cpu, SessionCpuSeconds(chrome));
      }
      if (state == "COMPLETED" || state == "FAILED" || state == "CANCELLED") break;
    }
    if (browser) browser_cpu.push_back(cpu / (Now() - t_start));
    Stop(chrome);
    if (state != "COMPLETED") {
      std::fprintf(stderr, "ogai-bench dashboard: job %s ended %s\n", id.c_str(), state.c_str());
      failed = true;
      break;
    }
    const double ms = MedianStepMs(info.value("metrics_file", ""), warmup);
    (browser ? with : without).push_back(ms);
    pair_ms[browser ? 1 : 0].push_back(ms);
    if (r % 2 == 1) {  // runs 2k and 2k+1 are one without and one with the browser
      paired.push_back(pair_ms[1].back() / pair_ms[0].back());
      pair_ms[0].clear();
      pair_ms[1].clear();
    }
    if (browser) min_polls = min_polls < 0 ? polls.changes : std::min(min_polls, polls.changes);
    std::fprintf(stderr, "ogai-bench dashboard: run %d %s browser: median step %.2f ms%s\n", r + 1,
                 browser ? "with" : "without", ms,
                 browser ? (", page polls seen " + std::to_string(polls.changes)).c_str() : "");
  }
  ::kill(daemon, SIGTERM);
  Wait(daemon);
  fs::remove_all(dir);
  if (failed) return 1;
  auto spread = [](const std::vector<double>& v) {
    const double m = Median(v);
    return m > 0 ? (*std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end())) / m : 0.0;
  };
  const double a = Median(without), b = Median(with);
  const std::string load = Read("/proc/loadavg");
  char res[1024];
  std::snprintf(res, sizeof res,
                "{\"runs\": %d, \"steps\": %d, \"np\": %d, \"step_ms_without\": %.3f, \"step_ms_with\": %.3f, "
                "\"ratio\": %.4f, \"paired_ratio\": %.4f, \"spread_without\": %.4f, \"spread_with\": %.4f, "
                "\"page_polls_min\": %d, \"browser_cpu_share\": %.3f, "
                "\"loadavg\": \"%s\"}",
                runs, steps, np, a, b, a > 0 ? b / a : 0.0, Median(paired), spread(without), spread(with), min_polls,
                Median(browser_cpu), load.substr(0, load.find(' ', load.find(' ', load.find(' ') + 1) + 1)).c_str());
  std::printf(as_json ? "%s\n" : "ogai-bench dashboard: %s\n", res);
  return 0;
}

Command reg("dashboard", "a browser on a running job's dashboard page: step time with and without", &Run);

}  // namespace
}  // namespace ogai::bench
