// Linear layers on the GPU through cuBLASLt: the maths of kernels/cpu/matmul.h in bf16 with
// fp32 accumulation (CUBLAS_COMPUTE_32F).
//
// Forward   out[M,N]  = inp[M,K] . W[N,K]^T + bias[N]         (bf16 out; bias by epilogue)
//           with `gelu`: pre[M,N] = that, out = gelu(pre)     (GELU_AUX_BIAS epilogue: pre is
//                                                               kept for GeluBackward)
// Backward  dinp[M,K] (+)= dout[M,N] . W[N,K]                 (bf16)
//           dW[N,K]   (+)= dout[M,N]^T . inp[M,K]             (fp32: gradients are fp32)
// Bias gradients are BiasBackward (bias_grad.h), not the BGRAD epilogue (fixed order there).
//
// Row-major tensors are column-major transposes to cuBLAS: out^T = W . inp^T is the
// column-major GEMM (m=N, n=M, k=K, A=W transposed). Algorithms come from cuBLASLt's
// heuristic with a fixed workspace and no split-K reduction by atomics, so a given shape on
// a given GPU runs the same algorithm, and gives the same bits, every time.
#pragma once

#include <cstdint>
#include <memory>

#include "core/status.h"
#include "kernels/cuda/scratch.h"
#include "kernels/cuda/types.h"

namespace ogai::kernels::cuda {

class Gemm {
 public:
  // One per device and stream owner: holds the cuBLASLt handle and uses `workspace`
  // (kCublasLtWorkspaceBytes of device memory, scratch.h, e.g. the arena's) or, when null, allocates its own.
  static Result<std::unique_ptr<Gemm>> Create(void* workspace = nullptr);
  ~Gemm();

  // bias may be null. With gelu, `pre` [M,N] receives the pre-activation (required then).
  Status MatmulForward(bf16* out, bf16* pre, const bf16* inp, const bf16* weight, const bf16* bias, int64_t m,
                       int64_t k, int64_t n, bool gelu, cudaStream_t stream);

  // Either of dinp, dweight may be null.
  Status MatmulBackward(bf16* dinp, float* dweight, const bf16* dout, const bf16* inp, const bf16* weight, int64_t m,
                        int64_t k, int64_t n, bool accumulate_dinp, bool accumulate_dweight, cudaStream_t stream);

 private:
  Gemm() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ogai::kernels::cuda
