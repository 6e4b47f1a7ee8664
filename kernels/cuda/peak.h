// Dense bf16 tensor-core peaks of the GPUs ogai reports MFU against, by the device name the
// CUDA runtime (and nvidia-smi) gives. Figures are NVIDIA's datasheet numbers without
// sparsity: H100 SXM5 989.4 TFLOP/s, H100 NVL 835.5, H100 PCIe 756.5, H200 (SXM) 989.4,
// H200 NVL 835.5, GH200 989.4, A100 312. Plain C++ (part of ogai_kernels, no CUDA needed), so
// the table is tested on any machine; ogai-bench reports MFU against it.
#pragma once

#include <string>

namespace ogai::kernels::cuda {

struct GpuPeak {
  double bf16_tflops = 0;  // 0: the name is not in the table
  std::string model;       // "H100 SXM5", ... ("" when unknown)
};

GpuPeak Bf16DensePeak(const std::string& device_name);

}  // namespace ogai::kernels::cuda
