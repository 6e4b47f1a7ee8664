// The CUDA runtime as ogai sees it: how many devices, what each is, which one this thread uses.
// Built only when nvcc is found (kernels/CMakeLists.txt); a CPU-only build has no such target,
// and callers guard with OGAI_HAVE_CUDA.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace ogai::kernels::cuda {

struct DeviceInfo {
  int ordinal = 0;
  std::string name;  // "NVIDIA H200"
  int sm_major = 0, sm_minor = 0;
  int sm_count = 0;
  int64_t total_bytes = 0;
  int64_t free_bytes = 0;
};

// Devices the runtime sees (after CUDA_VISIBLE_DEVICES); 0 without a GPU or a driver.
int DeviceCount();
// Selects `ordinal` for the calling thread and describes it.
Result<DeviceInfo> UseDevice(int ordinal);
// The error string of the last CUDA runtime error, with `what` in front (for Status messages).
Status CudaError(int cuda_error, const std::string& what);
// The last launch error (cudaGetLastError), as a Status naming `what`.
Status CheckLaunch(const std::string& what);

}  // namespace ogai::kernels::cuda
