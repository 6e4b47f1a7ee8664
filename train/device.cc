#include "train/device.h"

#include <string>

#if OGAI_HAVE_CUDA
#include "kernels/cuda/device.h"
#endif

namespace ogai::train {

DeviceProbe ProbeDevices() {
  DeviceProbe p;
#if OGAI_HAVE_CUDA
  p.cuda_built = true;
  p.visible = kernels::cuda::DeviceCount();
#endif
  return p;
}

Result<int> SelectCudaDevice(int local_rank, int local_world_size, int visible) {
  if (visible <= 0) {
    return Unavailable(
        "model.device is 'cuda' but no CUDA device is visible to this process (check nvidia-smi and "
        "CUDA_VISIBLE_DEVICES), or set model.device: cpu");
  }
  if (local_rank < 0 || local_world_size < 1 || local_rank >= local_world_size) {
    return InvalidArgument("LOCAL_RANK " + std::to_string(local_rank) + " is outside LOCAL_WORLD_SIZE " +
                           std::to_string(local_world_size) + "; the launcher set an inconsistent rank environment");
  }
  if (local_world_size > visible) {
    return InvalidArgument("model.device is 'cuda' with " + std::to_string(local_world_size) +
                           " ranks on this node but only " + std::to_string(visible) +
                           " visible CUDA device(s): one rank per GPU; start at most " + std::to_string(visible) +
                           " ranks per node (ogai-run --nproc-per-node " + std::to_string(visible) + ")");
  }
  return local_rank;
}

Result<int> CheckDevice(const Config& cfg, const launch::RankEnv& env, const DeviceProbe& probe) {
  if (cfg.model.device != "cuda") return -1;
  if (!probe.cuda_built) {
    return NotSupported(
        "model.device is 'cuda' but this ogai was built without CUDA (nvcc was not found at configure time); "
        "rebuild with CUDA (scripts/gpu_check.sh, or cmake -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc), or set "
        "model.device: cpu");
  }
  return SelectCudaDevice(env.local_rank, env.local_world_size, probe.visible);
}

const char* CudaTrainerMissing() {
  return "model.device is 'cuda' but ogai-worker's GPU trainer is not wired: the GPU step (train/gpu_step.h: one GPU "
         "or dp over NCCL; compiled, not yet run on a GPU) runs only in `ogai-bench train`; checkpoints, metrics, "
         "restarts, ZeRO-1 and tp/pp on NCCL around it are missing (docs/gpu.md, 'What remains'); train with "
         "model.device: cpu";
}

}  // namespace ogai::train
