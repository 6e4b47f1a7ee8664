#include "bench/train_gpu.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "kernels/cuda/peak.h"
#include "model/gpt.h"
#include "train/gpu_step.h"

namespace ogai::bench {

int RunTrainOnGpu(const Config& cfg, int device, int steps, int warmup, bool json, comm::ProcessGroup* dp) {
  auto step = train::GpuStep::Create(cfg, device, dp);
  if (!step.ok()) {
    std::fprintf(stderr, "ogai-bench train: %s\n", step.status().ToString().c_str());
    return 1;
  }
  std::vector<double> times;
  std::vector<double> losses;
  for (int i = 0; i < warmup + steps; ++i) {
    auto s = (*step)->Step();
    if (!s.ok()) {
      std::fprintf(stderr, "ogai-bench train: step %d: %s\n", i + 1, s.status().ToString().c_str());
      return 1;
    }
    losses.push_back(s->loss);
    if (i >= warmup) times.push_back(s->seconds);
  }
  std::sort(times.begin(), times.end());
  const double med = times[times.size() / 2];
  const double tokens = static_cast<double>(cfg.train.global_batch) * cfg.model.seq_len;
  const double gflops = model::GPT::ModelFlopsPerToken(cfg.model) * tokens / med / 1e9;
  const kernels::cuda::GpuPeak peak = kernels::cuda::Bf16DensePeak((*step)->device_name());
  const int gpus = dp != nullptr ? dp->size() : 1;
  // MFU per GPU: the job's model FLOP/s over the GPUs' summed peak.
  const double mfu = peak.bf16_tflops > 0 ? gflops / (peak.bf16_tflops * 1e3 * gpus) : 0.0;
  if (dp != nullptr && dp->rank() != 0) return 0;
  if (json) {
    std::printf(
        "{\"device\": \"cuda\", \"gpu\": \"%s\", \"ms_per_step\": %.3f, \"tokens_per_s\": %.1f, \"model_gflops\": "
        "%.1f, \"bf16_peak_tflops\": %.1f, \"mfu\": %.4f, \"micro_batch\": %d, \"seq_len\": %d, \"steps\": %d, "
        "\"first_loss\": %.5f, \"loss\": %.5f, \"arena_bytes\": %lld, \"gpus\": %d}\n",
        (*step)->device_name().c_str(), med * 1e3, tokens / med, gflops, peak.bf16_tflops, mfu, cfg.train.micro_batch,
        cfg.model.seq_len, steps, losses.front(), losses.back(), static_cast<long long>((*step)->plan().total_bytes),
        gpus);
  } else {
    std::printf("ogai-bench train on %s (bf16, fp32 master weights), micro_batch %d x %d tokens\n",
                (*step)->device_name().c_str(), cfg.train.micro_batch, cfg.model.seq_len);
    std::printf("  ms/step (median)   %10.2f\n  tokens/s           %10.0f\n  model GFLOP/s      %10.1f\n", med * 1e3,
                tokens / med, gflops);
    if (peak.bf16_tflops > 0) {
      std::printf("  MFU                %10.3f   (of %.1f TFLOP/s, %s bf16 dense)\n", mfu, peak.bf16_tflops,
                  peak.model.c_str());
    } else {
      std::printf("  MFU                unknown    (%s is not in kernels/cuda/peak.cc)\n",
                  (*step)->device_name().c_str());
    }
    std::printf("  loss               %.4f -> %.4f\n", losses.front(), losses.back());
  }
  return 0;
}

}  // namespace ogai::bench
