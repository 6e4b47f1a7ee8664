#include "web/metrics_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace ogai::web {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

double Num(const json& o, const char* key, double def = 0) {
  auto it = o.find(key);
  return it != o.end() && it->is_number() ? it->get<double>() : def;
}

std::string Str(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

constexpr const char* kValNames[] = {"val_loss", "valid_loss", "validation_loss", "eval_loss"};
constexpr const char* kValObjects[] = {"eval", "val", "valid", "validation"};

// A validation loss in `o` (see the header), with the bits per byte beside it; false when
// there is none.
bool FindValLoss(const json& o, ValPoint* v) {
  if (!o.contains("step") || !o["step"].is_number()) return false;
  for (const char* name : kValNames) {
    if (o.contains(name) && o[name].is_number()) {
      *v = {o["step"].get<int64_t>(), o[name].get<double>(), Num(o, "bits_per_byte", NAN)};
      return true;
    }
  }
  return false;
}

bool FindNestedValLoss(const json& o, ValPoint* v) {
  for (const char* key : kValObjects) {
    auto it = o.find(key);
    if (it == o.end() || !it->is_object()) continue;
    if (FindValLoss(*it, v)) return true;
    if (it->contains("step") && (*it)["step"].is_number() && it->contains("loss") && (*it)["loss"].is_number()) {
      *v = {(*it)["step"].get<int64_t>(), (*it)["loss"].get<double>(), Num(*it, "bits_per_byte", NAN)};
      return true;
    }
  }
  return false;
}

std::string HumanBytes(double b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", b / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

void ReadConfig(RunData* run) {
  try {
    const YAML::Node c = YAML::Load(run->config_yaml);
    if (c["train"] && c["train"]["steps"]) run->train_steps = c["train"]["steps"].as<int64_t>();
    if (c["model"] && c["model"]["seq_len"] && c["train"] && c["train"]["global_batch"]) {
      run->tokens_per_step = c["model"]["seq_len"].as<int64_t>() * c["train"]["global_batch"].as<int64_t>();
    }
  } catch (const YAML::Exception&) {
    // An unreadable config leaves the derived figures unknown; the text is still shown.
  }
}

// Whether the first line of `path` is a start record of rank 0.
bool IsRankZeroMetrics(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return false;
  const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains("start") && j["start"].is_object() && Num(j["start"], "rank", -1) == 0;
}

}  // namespace

Result<std::string> FindMetricsFile(const std::string& arg) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) return arg;
  if (!fs::is_directory(arg, ec)) {
    return NotFound("'" + arg +
                    "' is neither a metrics file nor a folder; pass the run's train.metrics_file or its folder");
  }
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(arg, ec)) {
    if (e.path().extension() == ".jsonl" && IsRankZeroMetrics(e.path())) found.push_back(e.path().string());
  }
  std::sort(found.begin(), found.end());
  if (found.empty()) {
    return NotFound("no metrics file in '" + arg +
                    "' (a *.jsonl that starts with rank 0's start record); train with "
                    "train.metrics_file=" +
                    arg + "/metrics.jsonl, or pass the file");
  }
  if (found.size() > 1) {
    std::string list;
    for (const auto& f : found) list += (list.empty() ? "" : ", ") + f;
    return InvalidArgument("'" + arg + "' holds " + std::to_string(found.size()) + " runs' metrics files (" + list +
                           "); pass the one to report on");
  }
  return found[0];
}

MetricsFollower::MetricsFollower(std::string path) : path_(std::move(path)) { run_.path = path_; }

void MetricsFollower::Reset() {
  run_ = RunData();
  run_.path = path_;
  offset_ = 0;
  line_no_ = 0;
  partial_.clear();
}

Status MetricsFollower::Update() {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot read the metrics file '" + path_ + "'");
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) {
    ::close(fd);
    return NotFound("cannot read the metrics file '" + path_ + "'");
  }
  // A file replaced or cut short since the last read is read again from its start.
  if (static_cast<uint64_t>(sb.st_ino) != inode_ || sb.st_size < offset_) Reset();
  inode_ = static_cast<uint64_t>(sb.st_ino);
  std::string buf(1 << 20, '\0');
  while (true) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), offset_);
    if (n <= 0) break;
    offset_ += n;
    const char* p = buf.data();
    const char* const end = p + n;
    while (true) {
      const char* nl = std::find(p, end, '\n');
      partial_.append(p, static_cast<size_t>(nl - p));
      if (nl == end) break;
      AddLine(partial_);
      partial_.clear();
      p = nl + 1;
    }
  }
  ::close(fd);
  return Status::Ok();
}

void MetricsFollower::Finish() {
  if (!partial_.empty()) AddLine(partial_);
  partial_.clear();
}

void MetricsFollower::AddLine(const std::string& line) {
  RunData& run = run_;
  const int n = ++line_no_;
  if (line.empty()) return;
  const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    if (run.skipped_lines++ == 0) run.first_skipped_line = n;
    return;
  }
  ValPoint v;
  if (j.contains("loss") && j.contains("step") && j["step"].is_number()) {
    StepPoint s;
    s.step = j["step"].get<int64_t>();
    s.loss = Num(j, "loss");
    s.lr = Num(j, "lr");
    s.grad_norm = Num(j, "grad_norm");
    s.ms = Num(j, "ms");
    s.dp_exposed_ms = Num(j, "dp_exposed_ms");
    s.dp_exposed_min_ms = Num(j, "dp_exposed_min_ms");
    s.pp_wait_ms = Num(j, "pp_wait_ms");
    s.restart = static_cast<int>(Num(j, "restart"));
    s.unix_ms = Num(j, "unix_ms");
    run.lines.push_back(s);
    // Per step the last line; steps come in order except after a restart, which redoes some.
    auto at = std::lower_bound(run.steps.begin(), run.steps.end(), s.step,
                               [](const StepPoint& p, int64_t step) { return p.step < step; });
    if (at != run.steps.end() && at->step == s.step)
      *at = s;
    else
      run.steps.insert(at, s);
  }
  if (FindValLoss(j, &v) || FindNestedValLoss(j, &v)) {
    auto at = std::lower_bound(run.val.begin(), run.val.end(), v.step,
                               [](const ValPoint& p, int64_t step) { return p.step < step; });
    if (at != run.val.end() && at->step == v.step)
      *at = v;
    else
      run.val.insert(at, v);
  }
  if (j.contains("start") && j["start"].is_object()) {
    const json& s = j["start"];
    RoundStart r;
    r.restart = static_cast<int>(Num(s, "restart"));
    r.world = static_cast<int>(Num(s, "world"));
    r.dp = static_cast<int>(Num(s, "dp"));
    r.tp = static_cast<int>(Num(s, "tp"));
    r.pp = static_cast<int>(Num(s, "pp"));
    r.grad_accum = static_cast<int>(Num(s, "grad_accum"));
    r.global_batch = static_cast<int>(Num(s, "global_batch"));
    r.resume_step = static_cast<int64_t>(Num(s, "resume_step"));
    r.source = Str(s, "source");
    r.load_ms = Num(s, "load_ms");
    r.started_unix_ms = Num(s, "started_unix_ms");
    r.ready_unix_ms = Num(s, "ready_unix_ms");
    run.rounds.push_back(r);
    run.finished = false;
  }
  if (j.contains("checkpoint") && j["checkpoint"].is_object()) {
    const json& c = j["checkpoint"];
    run.checkpoints.push_back(
        {static_cast<int64_t>(Num(c, "step")), Str(c, "path"), static_cast<int>(Num(c, "restart")), Num(c, "unix_ms")});
  }
  if (j.contains("config") && j["config"].is_object()) {
    run.config_yaml = Str(j["config"], "yaml");
    ReadConfig(&run);
  }
  if (j.contains("hardware") && j["hardware"].is_object()) {
    const json& h = j["hardware"];
    run.hardware = {{"host", Str(h, "host")},
                    {"CPU", Str(h, "cpu")},
                    {"cores (this process / online)", std::to_string(static_cast<int>(Num(h, "cores"))) + " / " +
                                                          std::to_string(static_cast<int>(Num(h, "online_cores")))},
                    {"memory", HumanBytes(Num(h, "memory_bytes"))},
                    {"GEMM", Str(h, "gemm")}};
  }
  if (j.contains("memory") && j["memory"].is_object()) run.finished = true;
}

Result<RunData> ReadMetrics(const std::string& path) {
  MetricsFollower f(path);
  OGAI_RETURN_IF_ERROR(f.Update());
  f.Finish();
  return f.data();
}

}  // namespace ogai::web
