// ogai-bench gpu: what this machine's GPUs are and whether a config's device arena fits.
//
//   ogai-bench gpu --config examples/gpt2-124m.yaml [section.key=value ...] [--json]
//
// Lists the visible CUDA devices (name, SMs, memory, the bf16 dense peak MFU is measured
// against), then plans rank 0's device arena for the config (train/device_arena.h) and checks
// it against device 0's free memory. Without a CUDA build or a device it says so and exits 3.
#include <cstdio>
#include <string>
#include <vector>

#include "bench/command.h"
#include "kernels/cuda/peak.h"
#include "parallel/layout.h"
#include "train/config.h"
#include "train/device.h"
#include "train/device_arena.h"
#if OGAI_HAVE_CUDA
#include "kernels/cuda/device.h"
#endif

namespace ogai::bench {
namespace {

constexpr int64_t kReserveBytes = 2ll << 30;  // CUDA context, NCCL, cuDNN, fragmentation

int Run(int argc, char** argv) {
  std::string config_path;
  std::vector<std::string> overrides;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--json") {
      json = true;
    } else if (IsConfigOverride(a)) {
      overrides.push_back(a);
    } else {
      std::fprintf(stderr, "usage: ogai-bench gpu --config FILE [section.key=value ...] [--json]\n");
      return 2;
    }
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "ogai-bench gpu: --config FILE is required\n");
    return 2;
  }
  auto cfg = LoadConfig(config_path, overrides);
  if (!cfg.ok()) {
    std::fprintf(stderr, "ogai-bench gpu: %s\n", cfg.status().ToString().c_str());
    return 2;
  }
  auto layout =
      parallel::MakeLayout(cfg->parallel, cfg->model, 0, cfg->parallel.dp * cfg->parallel.tp * cfg->parallel.pp);
  if (!layout.ok()) {
    std::fprintf(stderr, "ogai-bench gpu: %s\n", layout.status().ToString().c_str());
    return 2;
  }
  const train::ArenaPlan plan = train::PlanDeviceArena(*cfg, *layout);
  const train::DeviceProbe probe = train::ProbeDevices();
  std::string name = "none";
  int64_t free_b = 0, total_b = 0;
#if OGAI_HAVE_CUDA
  for (int d = 0; d < probe.visible; ++d) {
    auto info = kernels::cuda::UseDevice(d);
    if (!info.ok()) {
      std::fprintf(stderr, "ogai-bench gpu: %s\n", info.status().ToString().c_str());
      return 1;
    }
    if (d == 0) {
      name = info->name;
      free_b = info->free_bytes;
      total_b = info->total_bytes;
    }
    if (!json) {
      const kernels::cuda::GpuPeak pk = kernels::cuda::Bf16DensePeak(info->name);
      std::printf("cuda:%d  %s  sm_%d%d  %d SMs  %.1f GiB (%.1f free)  bf16 dense peak %s\n", d, info->name.c_str(),
                  info->sm_major, info->sm_minor, info->sm_count, info->total_bytes / 1073741824.0,
                  info->free_bytes / 1073741824.0,
                  pk.bf16_tflops > 0 ? (std::to_string(pk.bf16_tflops) + " TFLOP/s (" + pk.model + ")").c_str()
                                     : "unknown (not in kernels/cuda/peak.cc)");
    }
  }
  if (cfg->parallel.dp * cfg->parallel.tp * cfg->parallel.pp > 1) (void)kernels::cuda::UseDevice(0);
#endif
  Status fits = probe.visible > 0 ? train::CheckArenaFits(plan, free_b, kReserveBytes, "cuda:0 (" + name + ")")
                                  : Unavailable("no CUDA device visible");
  const kernels::cuda::GpuPeak pk = kernels::cuda::Bf16DensePeak(name);
  if (json) {
    std::printf(
        "{\"cuda_built\": %s, \"devices\": %d, \"device0\": \"%s\", \"total_bytes\": %lld, \"free_bytes\": %lld, "
        "\"bf16_peak_tflops\": %.1f, \"arena_bytes\": %lld, \"fits\": %s}\n",
        probe.cuda_built ? "true" : "false", probe.visible, name.c_str(), static_cast<long long>(total_b),
        static_cast<long long>(free_b), pk.bf16_tflops, static_cast<long long>(plan.total_bytes),
        fits.ok() ? "true" : "false");
  } else {
    std::printf("device arena of rank 0 (%s, micro_batch %d):\n%s", config_path.c_str(), cfg->train.micro_batch,
                plan.Describe().c_str());
    std::printf("fits on cuda:0: %s\n", fits.ok() ? "yes" : fits.message().c_str());
  }
  if (!probe.cuda_built || probe.visible == 0) {
    std::fprintf(stderr, "ogai-bench gpu: %s\n",
                 probe.cuda_built ? "no CUDA device visible" : "this ogai was built without CUDA");
    return 3;
  }
  return fits.ok() ? 0 : 1;
}

Command reg("gpu", "the visible GPUs, their bf16 peak, and whether a config's device arena fits", &Run);

}  // namespace
}  // namespace ogai::bench
