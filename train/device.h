// Which device a rank trains on (model.device), checked before anything is built on it.
//
// model.device = cuda needs, in this order: a build with CUDA (nvcc was found at configure
// time), at least one visible device, and no more ranks on this node than visible devices.
// Rank r of a node uses device LOCAL_RANK (torchrun's rule; CUDA_VISIBLE_DEVICES narrows
// what "visible" means). The checks are pure functions of a DeviceProbe, so they are
// unit-tested on machines without a GPU; ProbeDevices() fills the probe from the CUDA runtime.
#pragma once

#include "core/status.h"
#include "rank/rank_env.h"
#include "train/config.h"

namespace ogai::train {

struct DeviceProbe {
  bool cuda_built = false;  // this binary was compiled with kernels/cuda
  int visible = 0;          // CUDA devices the runtime sees
};

// The real probe: OGAI_HAVE_CUDA at compile time and the runtime's device count.
DeviceProbe ProbeDevices();

// The CUDA ordinal for a rank (LOCAL_RANK), or an error naming the shortfall and the fix.
Result<int> SelectCudaDevice(int local_rank, int local_world_size, int visible);

// -1 for model.device = cpu; the CUDA ordinal for cuda; an error (one line: what, why, how
// to fix) when the build or the machine cannot run it.
Result<int> CheckDevice(const Config& cfg, const launch::RankEnv& env, const DeviceProbe& probe);

// What the GPU trainer still lacks. The Trainer refuses model.device = cuda with this line
// until it runs end to end (docs/gpu.md); ogai-bench train runs the one-GPU step itself.
const char* CudaTrainerMissing();

}  // namespace ogai::train
