#include "kernels/cuda/device.h"

#include <cuda_runtime_api.h>

namespace ogai::kernels::cuda {

int DeviceCount() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // no driver / no device: clear the sticky error, report none
    return 0;
  }
  return n;
}

Status CudaError(int cuda_error, const std::string& what) {
  const auto e = static_cast<cudaError_t>(cuda_error);
  return Internal(what + ": CUDA error " + std::to_string(cuda_error) + " (" + cudaGetErrorName(e) + ": " +
                  cudaGetErrorString(e) + ")");
}

Result<DeviceInfo> UseDevice(int ordinal) {
  const int n = DeviceCount();
  if (ordinal < 0 || ordinal >= n) {
    return InvalidArgument("CUDA device " + std::to_string(ordinal) + " does not exist (" + std::to_string(n) +
                           " visible; check CUDA_VISIBLE_DEVICES and nvidia-smi)");
  }
  if (auto e = cudaSetDevice(ordinal); e != cudaSuccess)
    return CudaError(e, "cudaSetDevice(" + std::to_string(ordinal) + ")");
  cudaDeviceProp p{};
  if (auto e = cudaGetDeviceProperties(&p, ordinal); e != cudaSuccess) return CudaError(e, "cudaGetDeviceProperties");
  DeviceInfo d;
  d.ordinal = ordinal;
  d.name = p.name;
  d.sm_major = p.major;
  d.sm_minor = p.minor;
  d.sm_count = p.multiProcessorCount;
  size_t free_b = 0, total_b = 0;
  if (auto e = cudaMemGetInfo(&free_b, &total_b); e != cudaSuccess) return CudaError(e, "cudaMemGetInfo");
  d.free_bytes = static_cast<int64_t>(free_b);
  d.total_bytes = static_cast<int64_t>(total_b);
  return d;
}

}  // namespace ogai::kernels::cuda

namespace ogai::kernels::cuda {

Status CheckLaunch(const std::string& what) {
  const cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) return Status::Ok();
  return CudaError(e, what);
}

}  // namespace ogai::kernels::cuda
