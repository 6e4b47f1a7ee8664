// Types shared by the CUDA kernels' headers (plain C++: host code includes them too).
//
// Storage: parameters and activations are bf16; statistics (LayerNorm mean/rstd, attention
// log-sum-exp, losses), gradients of parameters, AdamW's master weights and moments are
// fp32. Every kernel computes in fp32. Each op's header has the CPU twin's argument order
// (kernels/cpu/<op>.h) with bf16 where the tensor is stored in bf16, plus, last, the CUDA
// stream (and a scratch buffer where a fixed-order reduction needs one). Kernels return
// nothing, like their twins; launch errors surface at the next CheckLaunch (device.h) or
// synchronising call. This header stays free of ogai's C++20 headers: nvcc compiles the .cu
// files as C++17.
#pragma once

#include <cuda_runtime_api.h>

#include <cuda_bf16.h>

namespace ogai::kernels::cuda {

using bf16 = __nv_bfloat16;

}  // namespace ogai::kernels::cuda
