// ogai-bench train: training throughput of one rank against this machine's best SGEMM.
//
// Runs --warmup untimed steps, then --steps timed ones, and reports the median step time,
// tokens/s and model FLOP/s (GPT::ModelFlopsPerToken: 6N + attention, per token). In the
// same run it times every GEMM shape the model executes (forward NT, backward NN and TN),
// with every GEMM backend available (oneDNN threaded by itself and in ogai's panels; OpenBLAS
// with its core type set for this CPU),
// and takes the fastest single SGEMM as the peak. fraction_of_peak = model GFLOP/s / peak.
//
// Started as ranks (`ogai-run -np 2 -- ogai-bench train --config F parallel.dp=2`) it runs
// the same steps on the job's layout and adds, measured in the same run: with dp > 1 the
// DP all-reduce time (overlap off: every bucket starts after backward, so all of it is
// exposed), the part still exposed with overlap on, the hidden fraction and both step
// times; with pp > 1 the measured pipeline bubble (time waiting for activations or
// gradients over the step time, mean over ranks) beside the theoretical (p-1)/m. The SGEMM
// peak is measured only in a single-process run (co-located ranks share the cores).
//
// --baseline NAME=VALUE (single process) measures a second setting in the same run: steps
// alternate between the configured setting and the baseline in pairs whose order flips (A, B,
// B, A, A, B, ...: neither side always runs right after the other; warm-up steps for both),
// each side reports its median step time, CPU time per step (cpu_ms_per_step,
// baseline_cpu_ms_per_step, cpu_time_ratio), tokens/s, fraction_of_peak and (with
// --breakdown) its own phase shares, and `speedup` is baseline ms / configured ms. Both sides
// share one trainer and one set of weights, so the machine's load hits both alike.
// --baseline train.recompute=MODE keeps both modes' activations (each made once, before the
// timed steps) and adds each side's activation bytes as the model allocated them
// (activations_mb, baseline_activations_mb), their ratio (activations_reduction), the
// estimate for each side (train/memory_estimate) and step_time_ratio = configured ms /
// baseline ms. peak_rss_mb and activations_peak_mb are the process's: with both modes'
// activations alive they hold both, so per-mode peak RSS needs one process per mode.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench/command.h"
#include "bench/gemm_peak.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/profile.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/gemm_tally.h"
#include "model/gpt.h"
#include "rank/rank_env.h"
#include "train/config.h"
#include "train/device.h"
#if OGAI_HAVE_CUDA
#include "bench/train_gpu.h"
#endif
#include "train/dist_setup.h"
#include "train/memory_estimate.h"
#include "train/trainer.h"

namespace ogai::bench {
namespace {

constexpr const char* kUsage =
    "usage: ogai-bench train --config FILE [--steps N] [--warmup N] [--json] [--breakdown]\n"
    "                        [--gemm onednn|onednn-panels|openblas] [section.key=value ...]\n"
    "  --steps N      timed steps (default 10)\n"
    "  --warmup N     untimed steps first (default 2)\n"
    "  --json         one JSON object: ms_per_step, tokens_per_s, model_gflops,\n"
    "                 gemm_peak_gflops, fraction_of_peak (and more)\n"
    "  --breakdown    time each phase of the step (adds a little overhead)\n"
    "  --gemm NAME    GEMM library for the training run (default: OGAI_GEMM or onednn)\n"
    "  --baseline NAME=VALUE  also time this setting, steps interleaved with the configured\n"
    "                 one (single process): attention=blocked|rowwise, train.precision=fp32|bf16,\n"
    "                 train.recompute=none|selective|full, gemm=onednn|onednn-panels|openblas\n";

// A setting the A/B comparison switches between steps of one trainer.
struct Switch {
  std::string text;  // "attention=rowwise"
  std::function<Status()> apply_baseline, apply_configured;
  // train.recompute: each side's activation bytes as allocated, and the baseline's config.
  int64_t configured_act_bytes = -1, baseline_act_bytes = -1;
  Config baseline_cfg;
};

Result<model::Recompute> ParseRecompute(const std::string& v) {
  if (v == "none") return model::Recompute::kNone;
  if (v == "selective") return model::Recompute::kSelective;
  if (v == "full") return model::Recompute::kFull;
  return InvalidArgument("--baseline train.recompute: '" + v + "' is not none, selective or full");
}

Result<Switch> MakeSwitch(const std::string& spec, train::Trainer& trainer) {
  const size_t eq = spec.find('=');
  const std::string name = spec.substr(0, eq), value = eq == std::string::npos ? "" : spec.substr(eq + 1);
  Switch sw;
  sw.text = spec;
  if (name == "attention") {
    const kernels::AttentionKernel configured = kernels::GetAttentionKernel();
    OGAI_RETURN_IF_ERROR(kernels::SetAttentionKernel(value).WithContext("--baseline attention"));
    const std::string back = configured == kernels::AttentionKernel::kRowwise ? "rowwise" : "blocked";
    OGAI_RETURN_IF_ERROR(kernels::SetAttentionKernel(back));
    sw.apply_baseline = [value] { return kernels::SetAttentionKernel(value); };
    sw.apply_configured = [back] { return kernels::SetAttentionKernel(back); };
    return sw;
  }
  if (name == "train.precision") {
    if (value != "fp32" && value != "bf16") {
      return InvalidArgument("--baseline train.precision: '" + value + "' is not fp32 or bf16");
    }
    model::GPT* m = &trainer.model();
    const model::Precision configured = m->precision();
    const model::Precision other = value == "bf16" ? model::Precision::kBf16 : model::Precision::kFp32;
    OGAI_RETURN_IF_ERROR(m->SetPrecision(other));
    OGAI_RETURN_IF_ERROR(m->SetPrecision(configured));
    sw.apply_baseline = [m, other] { return m->SetPrecision(other); };
    sw.apply_configured = [m, configured] { return m->SetPrecision(configured); };
    return sw;
  }
  if (name == "train.recompute") {
    OGAI_ASSIGN_OR_RETURN(const model::Recompute other, ParseRecompute(value));
    train::Trainer* t = &trainer;
    const model::Recompute configured = t->model().recompute();
    // Make the baseline's activations now, outside the timed steps.
    OGAI_ASSIGN_OR_RETURN(sw.baseline_act_bytes, t->SwitchRecompute(other));
    OGAI_ASSIGN_OR_RETURN(sw.configured_act_bytes, t->SwitchRecompute(configured));
    sw.baseline_cfg = t->config();
    sw.baseline_cfg.train.recompute = value;
    sw.apply_baseline = [t, other] { return t->SwitchRecompute(other).status(); };
    sw.apply_configured = [t, configured] { return t->SwitchRecompute(configured).status(); };
    return sw;
  }
  if (name == "gemm") {
    const std::string configured = kernels::GemmBackendName();
    OGAI_RETURN_IF_ERROR(kernels::SetGemmBackend(value).WithContext("--baseline gemm"));
    OGAI_RETURN_IF_ERROR(kernels::SetGemmBackend(configured));
    sw.apply_baseline = [value] { return kernels::SetGemmBackend(value); };
    sw.apply_configured = [configured] { return kernels::SetGemmBackend(configured); };
    return sw;
  }
  return InvalidArgument("--baseline '" + spec +
                         "': unknown setting; use attention=blocked|rowwise, train.precision=fp32|bf16, "
                         "train.recompute=none|selective|full or gemm=onednn|onednn-panels|openblas");
}

// User + system CPU time of this process so far, in seconds.
double ProcessCpuSeconds() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

// Steps alternate configured / baseline (pair order flipping); each side's phase totals are the sum of its own
// steps' deltas.
Status RunInterleaved(train::Trainer& trainer, const Switch& sw, int warmup, int steps, bool breakdown,
                      std::vector<train::StepStats>* configured, std::vector<train::StepStats>* baseline,
                      std::array<double, profile::kNumPhases>* configured_phases,
                      std::array<double, profile::kNumPhases>* baseline_phases, std::vector<double>* configured_cpu,
                      std::vector<double>* baseline_cpu) {
  profile::Reset();
  profile::Enable(breakdown);
  for (int i = 0; i < warmup + steps; ++i) {
    for (int k = 0; k < 2; ++k) {
      const int side = (i % 2 == 0) ? k : 1 - k;
      OGAI_RETURN_IF_ERROR(side == 0 ? sw.apply_configured() : sw.apply_baseline());
      const auto before = profile::Totals();
      const double cpu0 = ProcessCpuSeconds();
      train::StepStats s;
      OGAI_RETURN_IF_ERROR(trainer.Step(&s));
      const double cpu = ProcessCpuSeconds() - cpu0;
      if (i < warmup) continue;
      (side == 0 ? configured_cpu : baseline_cpu)->push_back(cpu);
      const auto after = profile::Totals();
      auto& acc = side == 0 ? *configured_phases : *baseline_phases;
      for (int p = 0; p < profile::kNumPhases; ++p) acc[p] += after[p] - before[p];
      (side == 0 ? configured : baseline)->push_back(s);
    }
  }
  profile::Enable(false);
  return sw.apply_configured();
}

void PrintBreakdown(std::FILE* out, const char* title, const std::array<double, profile::kNumPhases>& phases,
                    const std::vector<train::StepStats>& v) {
  double total = 0;
  for (const auto& s : v) total += s.seconds;
  const double n = static_cast<double>(v.size());
  double accounted = 0;
  std::fprintf(out, "  breakdown%s over %zu steps (%.1f ms/step):\n", title, v.size(), total / n * 1e3);
  for (int p = 0; p < profile::kNumPhases; ++p) {
    if (phases[p] <= 0) continue;
    accounted += phases[p];
    std::fprintf(out, "    %-14s %8.1f ms/step  %5.1f%%\n", profile::PhaseName(static_cast<profile::Phase>(p)),
                 phases[p] / n * 1e3, 100.0 * phases[p] / total);
  }
  std::fprintf(out, "    %-14s %8.1f ms/step  %5.1f%%\n", "other", (total - accounted) / n * 1e3,
               100.0 * (total - accounted) / total);
}

double Share(const std::array<double, profile::kNumPhases>& phases, profile::Phase p,
             const std::vector<train::StepStats>& v) {
  double total = 0;
  for (const auto& s : v) total += s.seconds;
  return total > 0 ? phases[p] / total : 0.0;
}

int Run(int argc, char** argv) {
  std::string config_path, gemm, baseline;
  int steps = 10, warmup = 2;
  bool json = false, breakdown = false;
  std::vector<std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ogai-bench train: %s needs a value\n%s", flag, kUsage);
        return nullptr;
      }
      return argv[++i];
    };
    if (a == "--config") {
      const char* v = next("--config");
      if (!v) return 2;
      config_path = v;
    } else if (a == "--steps" || a == "--warmup") {
      const char* v = next(a.c_str());
      if (!v) return 2;
      char* end = nullptr;
      long n = std::strtol(v, &end, 10);
      if (*end != '\0' || n < (a == "--steps" ? 1 : 0)) {
        std::fprintf(stderr, "ogai-bench train: %s must be a whole number%s, got '%s'\n", a.c_str(),
                     a == "--steps" ? " >= 1" : " >= 0", v);
        return 2;
      }
      (a == "--steps" ? steps : warmup) = static_cast<int>(n);
    } else if (a == "--json") {
      json = true;
    } else if (a == "--breakdown") {
      breakdown = true;
    } else if (a == "--gemm") {
      const char* v = next("--gemm");
      if (!v) return 2;
      gemm = v;
    } else if (a == "--baseline") {
      const char* v = next("--baseline");
      if (!v) return 2;
      baseline = v;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (IsConfigOverride(a)) {
      overrides.push_back(a);
    } else {
      std::fprintf(stderr, "ogai-bench train: unknown argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "ogai-bench train: --config FILE is required\n%s", kUsage);
    return 2;
  }
  auto cfg = LoadConfig(config_path, overrides);
  if (!cfg.ok()) {
    std::fprintf(stderr, "ogai-bench train: %s\n", cfg.status().ToString().c_str());
    return 2;
  }
  cfg->train.steps = warmup + steps;
  cfg->checkpoint.dir.clear();
  cfg->train.metrics_file.clear();
  Status st = gemm.empty() ? kernels::ApplyGemmBackendFromEnv() : kernels::SetGemmBackend(gemm);
  if (!st.ok()) {
    std::fprintf(stderr, "ogai-bench train: %s\n", st.ToString().c_str());
    return 2;
  }
  const std::string lib = kernels::GemmBackendName();

  auto env = launch::DetectRankEnv();
  if (!env.ok()) {
    std::fprintf(stderr, "ogai-bench train: %s\n", env.status().ToString().c_str());
    return 2;
  }
  auto dev = train::CheckDevice(*cfg, *env, train::ProbeDevices());
  if (!dev.ok()) {
    std::fprintf(stderr, "ogai-bench train: %s\n", dev.status().ToString().c_str());
    return 2;
  }
#if OGAI_HAVE_CUDA
  if (*dev >= 0) {
    if (env->world_size == 1) return RunTrainOnGpu(*cfg, *dev, steps, warmup, json, nullptr);
    auto gdist = train::SetUpDistributed(*cfg, *env);
    if (!gdist.ok()) {
      std::fprintf(stderr, "ogai-bench train: %s\n", gdist.status().ToString().c_str());
      return 1;
    }
    return RunTrainOnGpu(*cfg, *dev, steps, warmup, json, (*gdist)->world.get());
  }
#endif
  train::ShareCoresAmongLocalRanks(*env);
  auto dist = train::SetUpDistributed(*cfg, *env);
  if (!dist.ok()) {
    std::fprintf(stderr, "ogai-bench train: %s\n", dist.status().ToString().c_str());
    return 1;
  }
  const parallel::ParallelLayout& layout = (*dist)->ctx.layout;
  const bool rank0 = layout.rank == 0;
  cfg->train.steps = warmup + (layout.dp > 1 ? 2 * steps : steps);
  train::TrainerOptions opts;
  opts.print = false;
  auto trainer = train::Trainer::Create(*cfg, (*dist)->ctx, opts);
  if (!trainer.ok()) {
    std::fprintf(stderr, "ogai-bench train: %s\n", trainer.status().ToString().c_str());
    return 1;
  }
  // Phase 1: overlap as configured (on by default); phase 2 (dp > 1): overlap off.
  std::vector<train::StepStats> on, off, base;
  Switch sw_used;
  std::vector<double> cpu_on, cpu_base;  // --baseline: CPU seconds per step, each side
  std::array<double, profile::kNumPhases> phases{}, base_phases{};
  double last_loss = 0;
  (*trainer)->SetOverlap(cfg->parallel.overlap);
  if (!baseline.empty()) {
    if (layout.world != 1) {
      std::fprintf(stderr, "ogai-bench train: --baseline needs a single process (this run has %d ranks)\n",
                   layout.world);
      return 2;
    }
    auto sw = MakeSwitch(baseline, **trainer);
    if (!sw.ok()) {
      std::fprintf(stderr, "ogai-bench train: %s\n", sw.status().ToString().c_str());
      return 2;
    }
    if (Status e = RunInterleaved(**trainer, *sw, warmup, steps, breakdown, &on, &base, &phases, &base_phases, &cpu_on,
                                  &cpu_base);
        !e.ok()) {
      std::fprintf(stderr, "ogai-bench train: %s\n", e.ToString().c_str());
      return 1;
    }
    sw_used = *sw;
    last_loss = on.back().loss;
  }
  for (int i = 0; i < (baseline.empty() ? warmup + steps : 0); ++i) {
    if (i == warmup) {
      profile::Reset();
      kernels::ResetGemmShapeTimes();
      profile::Enable(breakdown);
    }
    train::StepStats s;
    if (Status e = (*trainer)->Step(&s); !e.ok()) {
      std::fprintf(stderr, "ogai-bench train: %s\n", e.ToString().c_str());
      return 1;
    }
    if (i >= warmup) on.push_back(s);
    last_loss = s.loss;
  }
  profile::Enable(false);
  if (baseline.empty()) phases = profile::Totals();
  if (layout.dp > 1) {
    (*trainer)->SetOverlap(false);
    for (int i = 0; i < steps; ++i) {
      train::StepStats s;
      if (Status e = (*trainer)->Step(&s); !e.ok()) {
        std::fprintf(stderr, "ogai-bench train: %s\n", e.ToString().c_str());
        return 1;
      }
      off.push_back(s);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  };
  auto med_of = [&](const std::vector<train::StepStats>& v, double train::StepStats::*f) {
    std::vector<double> x;
    for (const auto& s : v) x.push_back(s.*f);
    return x.empty() ? 0.0 : median(x);
  };
  const double med = med_of(on, &train::StepStats::seconds);
  const double tokens = static_cast<double>(cfg->train.global_batch) * cfg->model.seq_len;
  const double model_gflops = model::GPT::ModelFlopsPerToken(cfg->model) * tokens / med / 1e9;
  const bool single = layout.world == 1;
  // The training's peak RSS, read before the GEMM peak's own operands (up to ~200 MB for the
  // head's shapes) are allocated beside the trainer's memory.
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  const GemmPeak peak = single ? MeasureGemmPeak(cfg->model, cfg->train.micro_batch, lib) : GemmPeak{};
  // The shapes' rates in the steps (--breakdown without --baseline, whose steps mix two settings).
  const nlohmann::json gemm_rows = single && breakdown && baseline.empty()
                                       ? GemmShapeRows(peak, lib, kernels::GemmShapeTimes(), steps)
                                       : nlohmann::json::array();
  const double frac = single ? model_gflops / peak.best_gflops : 0.0;
  const double base_med = med_of(base, &train::StepStats::seconds);
  const double base_frac = single && base_med > 0
                               ? model::GPT::ModelFlopsPerToken(cfg->model) * tokens / base_med / 1e9 / peak.best_gflops
                               : 0.0;
  const MemStats mem = GetMemStats();
  // DP overlap and PP bubble.
  // On the rank that waited least (the last to finish backward): with overlap off, the
  // reduction's own time; with it on, the part backward did not hide. The mean wait over the
  // ranks adds load imbalance (ranks that finished backward early wait for the slowest).
  const double allreduce_ms = med_of(off, &train::StepStats::dp_exposed_min_s) * 1e3;
  const double exposed_ms = med_of(on, &train::StepStats::dp_exposed_min_s) * 1e3;
  const double allreduce_mean_ms = med_of(off, &train::StepStats::dp_exposed_s) * 1e3;
  const double exposed_mean_ms = med_of(on, &train::StepStats::dp_exposed_s) * 1e3;
  const double step_off_ms = med_of(off, &train::StepStats::seconds) * 1e3;
  const double hidden = allreduce_ms > 0 ? 1.0 - exposed_ms / allreduce_ms : 0.0;
  const double hidden_mean = allreduce_mean_ms > 0 ? 1.0 - exposed_mean_ms / allreduce_mean_ms : 0.0;
  const double bubble = med_of(on, &train::StepStats::pp_wait_s) / med;
  const double bubble_theory = static_cast<double>(layout.pp - 1) / cfg->train.grad_accum;
  if (!rank0) return 0;

  if (json) {
    std::printf(
        "{\"ms_per_step\": %.3f, \"tokens_per_s\": %.1f, \"model_gflops\": %.2f, "
        "\"gemm_peak_gflops\": %.2f, \"fraction_of_peak\": %.4f, \"gemm_mix_gflops\": %.2f, "
        "\"fraction_of_mix\": %.4f, \"gemm\": \"%s\", \"threads\": %d, \"steps\": %d, "
        "\"micro_batch\": %d, \"seq_len\": %d, \"params\": %lld, \"loss\": %.5f, \"peak_where\": \"%s\", "
        "\"dp\": %d, \"tp\": %d, \"pp\": %d, \"allreduce_ms\": %.3f, \"exposed_ms\": %.3f, "
        "\"hidden_fraction\": %.4f, \"ms_per_step_no_overlap\": %.3f, \"bubble_measured\": %.4f, "
        "\"bubble_theory\": %.4f, \"allreduce_mean_wait_ms\": %.3f, \"exposed_mean_wait_ms\": %.3f, "
        "\"hidden_fraction_mean_wait\": %.4f",
        med * 1e3, tokens / med, model_gflops, peak.best_gflops, frac, peak.mix_gflops,
        single ? model_gflops / peak.mix_gflops : 0.0, lib.c_str(), kernels::KernelThreads(), steps,
        cfg->train.micro_batch, cfg->model.seq_len, static_cast<long long>(model::GPT::DenseParamCount(cfg->model)),
        last_loss, peak.best_where.c_str(), layout.dp, layout.tp, layout.pp, allreduce_ms, exposed_ms, hidden,
        step_off_ms, bubble, bubble_theory, allreduce_mean_ms, exposed_mean_ms, hidden_mean);
    if (breakdown) std::printf(", \"attention_share\": %.4f", Share(phases, profile::kAttention, on));
    if (!gemm_rows.empty()) std::printf(", \"gemm_shapes\": %s", gemm_rows.dump().c_str());
    std::printf(
        ", \"precision\": \"%s\", \"bf16_hardware\": \"%s\", \"peak_rss_mb\": %.1f, \"accounted_peak_mb\": %.1f, "
        "\"activations_peak_mb\": %.1f",
        cfg->train.precision.c_str(), kernels::Bf16Hardware().c_str(), ru.ru_maxrss / 1024.0,
        static_cast<double>(mem.total_peak) / (1 << 20),
        static_cast<double>(mem[MemCategory::kActivations].peak) / (1 << 20));
    const MemoryEstimate est = EstimateStageMemory(*cfg, layout.pp_idx);
    std::printf(", \"recompute\": \"%s\", \"estimate_mb\": %.1f, \"estimate_activations_mb\": %.1f",
                cfg->train.recompute.c_str(), est.total() / (1 << 20), est.activations / (1 << 20));
    if (!baseline.empty()) {
      std::printf(
          ", \"baseline\": \"%s\", \"baseline_ms_per_step\": %.3f, \"baseline_tokens_per_s\": %.1f, "
          "\"baseline_fraction_of_peak\": %.4f, \"speedup\": %.4f",
          baseline.c_str(), base_med * 1e3, tokens / base_med, base_frac, base_med / med);
      if (breakdown) std::printf(", \"baseline_attention_share\": %.4f", Share(base_phases, profile::kAttention, base));
      // CPU time per step (both threads): less sensitive than wall time to other processes
      // taking the cores, though it also counts OpenMP threads spinning at barriers.
      const double cpu = cpu_on.empty() ? 0.0 : median(cpu_on), cpu_b = cpu_base.empty() ? 0.0 : median(cpu_base);
      std::printf(", \"cpu_ms_per_step\": %.1f, \"baseline_cpu_ms_per_step\": %.1f, \"cpu_time_ratio\": %.4f",
                  cpu * 1e3, cpu_b * 1e3, cpu_b > 0 ? cpu / cpu_b : 0.0);
      if (sw_used.baseline_act_bytes >= 0) {
        const double mb = 1 << 20;
        const double act = sw_used.configured_act_bytes / mb, base_act = sw_used.baseline_act_bytes / mb;
        std::printf(
            ", \"activations_mb\": %.1f, \"baseline_activations_mb\": %.1f, \"activations_reduction\": %.3f, "
            "\"baseline_estimate_activations_mb\": %.1f, \"step_time_ratio\": %.4f",
            act, base_act, act > 0 ? base_act / act : 0.0,
            EstimateStageMemory(sw_used.baseline_cfg, layout.pp_idx).activations / mb, med / base_med);
      }
    }
    std::printf("}\n");
  } else if (!single) {
    std::printf(
        "ogai-bench train: %s, %lld parameters, layout dp %d x tp %d x pp %d, micro-batch %d x seq %d, "
        "grad_accum %d, %d threads per rank\n",
        config_path.c_str(), static_cast<long long>(model::GPT::DenseParamCount(cfg->model)), layout.dp, layout.tp,
        layout.pp, cfg->train.micro_batch, cfg->model.seq_len, cfg->train.grad_accum, kernels::KernelThreads());
    std::printf("  step time (median of %d)   %10.1f ms\n", steps, med * 1e3);
    std::printf("  tokens/s                   %10.0f\n", tokens / med);
    std::printf("  model GFLOP/s              %10.1f\n", model_gflops);
    if (layout.dp > 1) {
      std::printf(
          "  DP all-reduce time         %10.1f ms/step  (overlap off: all of it exposed; the rank that waited least)\n",
          allreduce_ms);
      std::printf("  exposed with overlap on    %10.1f ms/step\n", exposed_ms);
      std::printf("  hidden fraction            %10.3f\n", hidden);
      std::printf("  mean wait over the ranks   %10.1f ms off, %.1f ms on (hidden %.3f; adds load imbalance)\n",
                  allreduce_mean_ms, exposed_mean_ms, hidden_mean);
      std::printf("  step time, overlap off     %10.1f ms\n", step_off_ms);
    }
    if (layout.pp > 1) {
      std::printf("  pipeline bubble            %10.3f measured, %.3f theoretical (p-1)/m = %d/%d\n", bubble,
                  bubble_theory, layout.pp - 1, cfg->train.grad_accum);
    }
  } else {
    std::printf("ogai-bench train: %s, %lld parameters, micro-batch %d x seq %d, %d threads, gemm %s\n",
                config_path.c_str(), static_cast<long long>(model::GPT::DenseParamCount(cfg->model)),
                cfg->train.micro_batch, cfg->model.seq_len, kernels::KernelThreads(), lib.c_str());
    std::printf("  step time (median of %d)   %10.1f ms\n", steps, med * 1e3);
    std::printf("  tokens/s                   %10.0f\n", tokens / med);
    std::printf("  model GFLOP/s              %10.1f\n", model_gflops);
    std::printf("  SGEMM peak GFLOP/s         %10.1f   (%s)\n", peak.best_gflops, peak.best_where.c_str());
    std::printf("  SGEMM mix GFLOP/s          %10.1f   (model's GEMM shapes, best library each)\n", peak.mix_gflops);
    for (const auto& [name, gf] : peak.by_library) std::printf("    %-24s %10.1f\n", name.c_str(), gf);
    std::printf("  fraction of peak           %10.3f\n", frac);
    if (!baseline.empty()) {
      std::printf("  baseline %s (interleaved): %.1f ms/step, %.0f tokens/s, fraction of peak %.3f; speedup %.3f\n",
                  baseline.c_str(), base_med * 1e3, tokens / base_med, base_frac, base_med / med);
      if (sw_used.baseline_act_bytes >= 0) {
        std::printf(
            "  activations: %.1f MB configured, %.1f MB baseline (%.2fx less); step time %.3fx the baseline's\n",
            sw_used.configured_act_bytes / double(1 << 20), sw_used.baseline_act_bytes / double(1 << 20),
            sw_used.configured_act_bytes > 0
                ? static_cast<double>(sw_used.baseline_act_bytes) / sw_used.configured_act_bytes
                : 0.0,
            med / base_med);
      }
    }
    std::printf("  memory: %s\n", FormatMemStats(mem).c_str());
  }
  if (breakdown) {
    std::FILE* out = json ? stderr : stdout;
    PrintBreakdown(out, baseline.empty() ? "" : " (configured)", phases, on);
    if (!gemm_rows.empty()) PrintGemmShapes(out, gemm_rows, lib);
    if (!baseline.empty()) PrintBreakdown(out, (" (baseline " + baseline + ")").c_str(), base_phases, base);
  }
  return 0;
}

Command reg("train", "training throughput against this machine's SGEMM peak", &Run);

}  // namespace
}  // namespace ogai::bench
