#include "train/metrics.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/log.h"
#include "train/evaluate.h"

namespace ogai::train {

namespace {
std::string ReplaceRank(std::string s, int rank) {
  const std::string key = "{rank}";
  for (size_t p = s.find(key); p != std::string::npos; p = s.find(key)) s.replace(p, key.size(), std::to_string(rank));
  return s;
}
}  // namespace

std::string HumanRate(double v, const char* unit) {
  const char* pre[] = {"", "K", "M", "G", "T", "P"};
  int i = 0;
  while (v >= 1000.0 && i < 5) {
    v /= 1000.0;
    ++i;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f %s%s", v, pre[i], unit);
  return buf;
}

std::string HumanDuration(double seconds) {
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 3600) {
    const long s = static_cast<long>(seconds + 0.5);
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    const long m = static_cast<long>(seconds / 60 + 0.5);
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", m / 60, m % 60);
  }
  return buf;
}

std::string StepLine(const StepStats& s, int64_t steps, double elapsed, double eta) {
  const int width = static_cast<int>(std::to_string(steps).size());
  char buf[256];
  std::snprintf(buf, sizeof(buf), "step %*lld/%lld | loss %.4f | lr %.2e | grad norm %.3f | %.1f ms | %s | %s", width,
                static_cast<long long>(s.step), static_cast<long long>(steps), s.loss, s.lr, s.grad_norm,
                s.seconds * 1e3, HumanRate(s.tokens_per_s, "tok/s").c_str(),
                HumanRate(s.model_flops_per_s, "FLOP/s").c_str());
  std::string line = buf;
  if (elapsed >= 0) line += " | " + HumanDuration(elapsed) + " elapsed, eta " + HumanDuration(std::max(0.0, eta));
  return line;
}

ConsoleReport::ConsoleReport(int64_t steps, int64_t total, int64_t first, int64_t log_every, double start)
    : steps_(steps), total_(total), first_(first), log_every_(log_every), start_(start), last_line_(start) {}

void ConsoleReport::OnStep(const StepStats& s, double now) {
  // The estimate extrapolates this run's pace (steps since it started or resumed).
  const double elapsed = now - start_;
  const double done = static_cast<double>(s.step - first_) / static_cast<double>(std::max<int64_t>(1, total_ - first_));
  const double eta = done > 0 ? elapsed / done * (1.0 - done) : 0.0;
  if (s.step % log_every_ == 0 || s.step == first_ + 1 || s.step == total_) {
    Print(StepLine(s, steps_, elapsed, eta));
    last_line_ = now;
  } else if (now - last_line_ >= 10.0) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "progress: %lld/%lld steps (%.0f%%), loss %.4f, elapsed %s, eta %s",
                  static_cast<long long>(s.step), static_cast<long long>(total_), 100.0 * s.step / total_, s.loss,
                  HumanDuration(elapsed).c_str(), HumanDuration(eta).c_str());
    Print(buf);
    last_line_ = now;
  }
}

void ConsoleReport::Summary(const RunSummary& sum) const {
  if (sum.steps <= 0) return;
  double tok = 0, flops = 0;
  for (const auto& h : sum.history) {
    tok += h.tokens_per_s * h.seconds;
    flops += h.model_flops_per_s * h.seconds;
  }
  char buf[320];
  std::snprintf(buf, sizeof(buf), "done: %lld steps in %.1f s | loss %.4f -> %.4f (%.0f%% of the first) | %s | %s",
                static_cast<long long>(sum.steps), sum.seconds, sum.first_loss, sum.last_loss,
                100.0 * sum.last_loss / sum.first_loss, HumanRate(tok / sum.seconds, "tok/s").c_str(),
                HumanRate(flops / sum.seconds, "FLOP/s").c_str());
  Print(buf);
  if (!sum.evals.empty()) {
    std::snprintf(buf, sizeof(buf), "validation loss %.4f (step %lld) -> %.4f (step %lld)", sum.evals.front().second,
                  static_cast<long long>(sum.evals.front().first), sum.evals.back().second,
                  static_cast<long long>(sum.evals.back().first));
    Print(buf);
  }
  Print(ResultsLine(sum));
}

std::string ResultsLine(const RunSummary& sum) {
  std::string line = "last checkpoint: ";
  if (sum.last_checkpoint.step > 0) {
    line += sum.last_checkpoint.path + " (step " + std::to_string(sum.last_checkpoint.step) + ")";
  } else {
    line += sum.checkpointing ? "none committed" : "none (checkpoint.dir is not set)";
  }
  line += " | metrics: " + (sum.metrics_file.empty() ? "none (train.metrics_file is not set)" : sum.metrics_file);
  return line;
}

namespace {
std::string LayoutText(int dp, int tp, int pp) {
  return "dp " + std::to_string(dp) + " x tp " + std::to_string(tp) + " x pp " + std::to_string(pp);
}
}  // namespace

std::string ResumeLine(const ResumeInfo& r, const parallel::ParallelLayout& now) {
  const bool same = r.saved_dp == now.dp && r.saved_tp == now.tp && r.saved_pp == now.pp;
  char load[96];
  std::snprintf(load, sizeof load, "%d shard file%s from %s in %.0f ms", r.files, r.files == 1 ? "" : "s",
                r.Source() == "disk" ? "disk" : (r.Source() == "peer" ? "peer memory" : "disk and peer memory"),
                r.load_s * 1e3);
  return "resumed from " + r.path + " at step " + std::to_string(r.step) + " (saved at " +
         LayoutText(r.saved_dp, r.saved_tp, r.saved_pp) +
         (same ? ", the same layout, not resharded" : ", resharded to " + LayoutText(now.dp, now.tp, now.pp)) + "; " +
         load + ")";
}

std::string ScheduleWarning(const ResumeInfo& r, int64_t steps) {
  if (r.path.empty() || r.saved_steps <= 0 || r.saved_steps == steps) return "";
  return "the checkpoint was saved by a run of train.steps=" + std::to_string(r.saved_steps) +
         " and this run has train.steps=" + std::to_string(steps) +
         ": the learning-rate schedule has a different length, so from step " + std::to_string(r.step) +
         " on the run differs from the one that was interrupted (set train.steps=" + std::to_string(r.saved_steps) +
         " to continue it unchanged)";
}

void LogRunEnd(const RunSummary& sum) {
  if (sum.steps <= 0) return;
  double mean_ms = 0;
  for (const auto& h : sum.history) mean_ms += h.seconds * 1e3 / sum.steps;
  OGAI_LOG(Info) << "mean step " << mean_ms << " ms; memory: " << FormatMemStats(GetMemStats());
}

Result<std::unique_ptr<MetricsFile>> MetricsFile::Open(const std::string& pattern, int rank, int restart) {
  const std::string path = ReplaceRank(pattern, rank);
  FILE* f = std::fopen(path.c_str(), restart > 0 ? "a" : "w");
  if (f == nullptr) return ErrnoError("train.metrics_file: cannot create '" + path + "'", errno);
  return std::unique_ptr<MetricsFile>(new MetricsFile(f, path, restart));
}

bool MetricsFile::WrittenBy(const std::string& pattern, int rank) {
  return rank == 0 || pattern.find("{rank}") != std::string::npos;
}

MetricsFile::~MetricsFile() { std::fclose(f_); }

void MetricsFile::WriteStart(const StartRecord& s) {
  const auto& L = s.layout;
  const ResumeInfo& r = s.resume;
  std::string startup;
  for (const auto& [name, ms] : s.startup_ms) {
    char item[96];
    std::snprintf(item, sizeof item, "%s\"%s\": %.3f", startup.empty() ? "" : ", ", name.c_str(), ms);
    startup += item;
  }
  std::fprintf(f_,
               "{\"start\": {\"restart\": %d, \"rank\": %d, \"world\": %d, \"dp\": %d, \"tp\": %d, "
               "\"pp\": %d, \"grad_accum\": %d, \"global_batch\": %d, \"pid\": %ld, \"resume_step\": %lld, "
               "\"source\": \"%s\", \"load_ms\": %.3f, \"files\": %d, \"peer_files\": %d, "
               "\"peer_bytes\": %lld, \"started_unix_ms\": %.3f, \"joined_unix_ms\": %.3f, "
               "\"ready_unix_ms\": %.3f, \"startup_ms\": {%s}}}\n",
               s.restart, L.rank, L.world, L.dp, L.tp, L.pp, s.grad_accum, s.global_batch,
               static_cast<long>(::getpid()), static_cast<long long>(s.resume_step), r.Source().c_str(), r.load_s * 1e3,
               r.files, r.files_from_peers, static_cast<long long>(r.bytes_from_peers), s.started_unix_ms,
               s.joined_unix_ms, UnixMs(), startup.c_str());
  std::fflush(f_);
}

void MetricsFile::WriteStep(const StepStats& s) {
  std::fprintf(f_,
               "{\"step\": %lld, \"loss\": %.9g, \"loss_bits\": \"%a\", \"lr\": %.9g, \"grad_norm\": %.9g, "
               "\"ms\": %.3f, \"dp_exposed_ms\": %.3f, \"dp_exposed_min_ms\": %.3f, \"pp_wait_ms\": %.3f, "
               "\"restart\": %d, \"unix_ms\": %.3f}\n",
               static_cast<long long>(s.step), s.loss, s.loss, s.lr, s.grad_norm, s.seconds * 1e3, s.dp_exposed_s * 1e3,
               s.dp_exposed_min_s * 1e3, s.pp_wait_s * 1e3, restart_, UnixMs());
  std::fflush(f_);
}

void MetricsFile::WriteEval(int64_t step, const EvalResult& r) {
  // bits_per_byte is null when the bytes were not measured (JSON has no NaN).
  char bpb[32] = "null";
  if (r.bytes > 0) std::snprintf(bpb, sizeof bpb, "%.9g", r.bits_per_byte());
  std::fprintf(f_,
               "{\"eval\": {\"step\": %lld, \"val_loss\": %.9g, \"tokens\": %lld, \"bytes\": %lld, "
               "\"bits_per_byte\": %s, \"ms\": %.3f, \"restart\": %d, \"unix_ms\": %.3f}}\n",
               static_cast<long long>(step), r.loss, static_cast<long long>(r.tokens), static_cast<long long>(r.bytes),
               bpb, r.seconds * 1e3, restart_, UnixMs());
  std::fflush(f_);
}

void MetricsFile::WritePeerCopy(const PeerCopyInfo& pc) {
  if (pc.step <= peer_copy_reported_) return;
  peer_copy_reported_ = pc.step;
  std::fprintf(f_,
               "{\"peer_copy\": {\"step\": %lld, \"bytes\": %lld, \"places\": %d, \"ms\": %.3f, "
               "\"restart\": %d}}\n",
               static_cast<long long>(pc.step), static_cast<long long>(pc.bytes), pc.places, pc.seconds * 1e3,
               restart_);
  std::fflush(f_);
}

void MetricsFile::WriteCheckpoint(const CommitInfo& c) {
  if (c.step <= commit_reported_) return;
  commit_reported_ = c.step;
  nlohmann::json j;
  j["checkpoint"] = {{"step", c.step}, {"path", c.path}, {"restart", restart_}, {"unix_ms", c.unix_ms}};
  std::fprintf(f_, "%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  std::fflush(f_);
}

void MetricsFile::WriteRunInfo(const std::string& config_yaml, const HardwareInfo& hw) {
  const auto replace = nlohmann::json::error_handler_t::replace;
  nlohmann::json c, h;
  c["config"] = {{"restart", restart_}, {"yaml", config_yaml}};
  h["hardware"] = {{"restart", restart_},
                   {"host", hw.host},
                   {"cpu", hw.cpu},
                   {"cores", hw.cores},
                   {"online_cores", hw.online_cores},
                   {"memory_bytes", hw.memory_bytes},
                   {"gemm", hw.gemm}};
  std::fprintf(f_, "%s\n%s\n", c.dump(-1, ' ', false, replace).c_str(), h.dump(-1, ' ', false, replace).c_str());
  std::fflush(f_);
}

void MetricsFile::WriteMemory(int64_t block_parameter_bytes, const MemStats& m) {
  std::fprintf(f_,
               "{\"memory\": {\"block_parameters\": %lld, \"parameters\": %lld, \"gradients\": %lld, "
               "\"optimizer\": %lld, \"activations\": %lld}}\n",
               static_cast<long long>(block_parameter_bytes), static_cast<long long>(m[MemCategory::kParameters].peak),
               static_cast<long long>(m[MemCategory::kGradients].peak),
               static_cast<long long>(m[MemCategory::kOptimizerState].peak),
               static_cast<long long>(m[MemCategory::kActivations].peak));
  std::fflush(f_);
}

}  // namespace ogai::train
