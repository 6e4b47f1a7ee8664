#include "tests/recovery/recovery_util.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ckpt/format.h"
#include "core/knobs.h"
#include "launcher/process.h"

namespace ogai::recovery_testing {

namespace fs = std::filesystem;
using launch::testing::BinDir;
using nlohmann::json;

std::string TestConfig(int steps) {
  return "model: {layers: 2, heads: 4, d_model: 128, vocab: 256, seq_len: 64}\n"
         "data: {source: demo, demo_tokens: 300000, demo_seed: 3}\n"
         "train: {steps: " +
         std::to_string(steps) +
         ", micro_batch: 4, lr: 3.0e-3, warmup: 3, seed: 7, log_every: 1000}\n"
         "parallel: {timeout_s: 60}\n"
         "checkpoint: {every_steps: 5, keep_last: 2}\n";
}

int64_t Metrics::MaxStep(int restart) const {
  int64_t m = 0;
  for (const StepLine& l : lines)
    if (restart < 0 || l.restart == restart) m = std::max(m, l.step);
  return m;
}

const StartLine* Metrics::Start(int restart) const {
  for (const StartLine& s : starts)
    if (s.restart == restart) return &s;
  return nullptr;
}

Metrics ReadMetrics(const std::string& path) {
  Metrics m;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.back() != '}') continue;  // being written
    json j;
    try {
      j = json::parse(line);
    } catch (...) {
      continue;
    }
    if (j.contains("step")) {
      StepLine s;
      s.step = j["step"].get<int64_t>();
      s.loss = j["loss"].get<double>();
      s.loss_bits = j["loss_bits"].get<std::string>();
      s.restart = j.value("restart", 0);
      m.lines.push_back(s);
      m.final[s.step] = s;
    } else if (j.contains("start")) {
      const json& r = j["start"];
      StartLine s;
      s.restart = r["restart"].get<int>();
      s.rank = r["rank"].get<int>();
      s.world = r["world"].get<int>();
      s.dp = r["dp"].get<int>();
      s.grad_accum = r["grad_accum"].get<int>();
      s.pid = r["pid"].get<int64_t>();
      s.resume_step = r["resume_step"].get<int64_t>();
      s.source = r["source"].get<std::string>();
      s.files = r["files"].get<int>();
      s.peer_files = r["peer_files"].get<int>();
      m.starts.push_back(s);
    } else if (j.contains("peer_copy")) {
      m.peer_copy_steps.push_back(j["peer_copy"]["step"].get<int64_t>());
    }
  }
  return m;
}

namespace {

std::map<std::string, std::string> EnvironOf(pid_t pid) {
  std::map<std::string, std::string> env;
  std::ifstream f("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::string kv;
  while (std::getline(f, kv, '\0')) {
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

}  // namespace

pid_t RankPid(const std::string& mark, int rank, int restart) {
  for (pid_t p : launch::ProcessesWithEnv("OGAI_TEST_MARK=" + mark)) {
    auto env = EnvironOf(p);
    if (env["RANK"] == std::to_string(rank) && env["OGAI_RESTART_COUNT"] == std::to_string(restart) &&
        launch::ProcessAlive(p)) {
      return p;
    }
  }
  return -1;
}

std::string EnvOf(pid_t pid, const std::string& key) {
  auto env = EnvironOf(pid);
  auto it = env.find(key);
  return it == env.end() ? std::string() : it->second;
}

pid_t ParentOf(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(f, stat);
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  char state = 0;
  long ppid = -1;
  rest >> state >> ppid;
  return static_cast<pid_t>(ppid);
}

Job::Job(const std::string& tag, const std::vector<std::string>& flags, const std::vector<std::string>& overrides,
         int steps, const std::vector<std::string>& env) {
  std::string tmpl = (fs::temp_directory_path() / ("ogai_" + tag + ".XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  dir_ = ::mkdtemp(buf.data());
  mark_ = launch::testing::NewMark();
  std::ofstream(dir_ + "/c.yaml") << TestConfig(steps);
  std::vector<std::string> argv = {BinDir() + "/ogai-run", "-x", "OGAI_TEST_MARK=" + mark_};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back(dir_ + "/c.yaml");
  argv.push_back("checkpoint.dir=" + dir_ + "/ckpt");
  argv.push_back("train.metrics_file=" + dir_ + "/m_{rank}.jsonl");
  argv.insert(argv.end(), overrides.begin(), overrides.end());
  child_ = launch::testing::Child::Start(argv, env);
}

Job::~Job() {
  child_.reset();  // kills it (and its session) if still running
  if (!KnobFlag("OGAI_TEST_KEEP", false)) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string Job::MetricsPath(int rank) const { return dir_ + "/m_" + std::to_string(rank) + ".jsonl"; }

bool Job::WaitUntil(const std::function<bool()>& pred, double timeout) {
  return child_->WaitForStdout([&](const std::string&) { return pred(); }, timeout);
}

int Job::Wait(double timeout) { return child_->Wait(timeout); }

std::vector<pid_t> Job::Leftovers(double grace) const { return launch::testing::Survivors(mark_, grace); }

bool PeerCopied(const Job& job, const std::vector<int>& ranks, int64_t step) {
  for (int r : ranks) {
    const Metrics m = job.ReadRank(r);
    if (m.peer_copy_steps.empty() || m.peer_copy_steps.back() < step) return false;
  }
  return true;
}

int64_t LatestStep(const Job& job) {
  auto name = ckpt::ReadLatest(job.dir() + "/ckpt");
  return name.ok() ? std::max<int64_t>(0, ckpt::ParseStepDirName(*name)) : 0;
}

bool WaitForPeerCopiedLatest(Job& job, const std::vector<int>& ranks, int64_t min_step, double timeout) {
  return job.WaitUntil(
      [&] {
        const int64_t latest = LatestStep(job);
        return latest >= min_step && PeerCopied(job, ranks, latest);
      },
      timeout);
}

Metrics ReferenceRun(const std::string& tag, const std::vector<std::string>& flags,
                     const std::vector<std::string>& overrides, int steps, std::string* log) {
  Job j(tag + "_ref", flags, overrides, steps);
  const int code = j.Wait();
  if (log != nullptr) *log = "exit code " + std::to_string(code) + "\n" + j.err();
  if (code != 0) return {};
  return j.ReadRank(0);
}

}  // namespace ogai::recovery_testing
