// Linear layer: y = x W^T + b, with W stored [out, in] (PyTorch's layout).
//
// Forward   out[M,N]  = inp[M,K] . W[N,K]^T + bias[N]
// Backward  dinp[M,K] (+)= dout[M,N] . W[N,K]
//           dW[N,K]   (+)= dout[M,N]^T . inp[M,K]
//           dbias[N]  (+)= sum over rows of dout
// M = tokens, K = in features, N = out features. The GEMMs go through Sgemm (gemm.h); the bias
// reduction is chunked in a fixed order so its bits do not depend on the thread count.
#pragma once

#include <cstdint>

#include "kernels/cpu/gemm_bf16.h"

namespace ogai::kernels {

// bias may be null.
void MatmulForward(float* out, const float* inp, const float* weight, const float* bias, int64_t m, int64_t k,
                   int64_t n);

// GPT-2's MLP up-projection: pre = inp W^T + bias, out = gelu(pre); the bias and the GELU run
// on each block of the product as it is done (SgemmThen), not as passes of their own.
void MatmulForwardGelu(float* pre, float* out, const float* inp, const float* weight, const float* bias, int64_t m,
                       int64_t k, int64_t n);

// A projection into the residual stream: out = residual + (inp W^T + bias), the bias and the
// residual added on each block of the product as it is done (same bits as separate passes).
void MatmulForwardResidual(float* out, const float* inp, const float* weight, const float* bias, const float* residual,
                           int64_t m, int64_t k, int64_t n);

// Any of dinp, dweight, dbias may be null (not needed). `accumulate_*` chooses += over =.
void MatmulBackward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                    int64_t m, int64_t k, int64_t n, bool accumulate_dinp, bool accumulate_dweight);

// The backward of the layer after a GELU: dinp = (dout . W) * gelu'(gelu_inp), overwritten
// (gelu_inp is the GELU's input, `pre` above), the GELU gradient fused into the GEMM's blocks.
void MatmulBackwardGelu(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* gelu_inp, int64_t m, int64_t k, int64_t n,
                        bool accumulate_dweight);

// Mixed precision (train.precision=bf16): the same maths with bf16 GEMM operands and fp32
// accumulation and outputs (gemm_bf16.h). The weight comes already in bf16 (the model keeps a
// bf16 copy of its fp32 master weights); the fp32 activations are rounded to bf16 here.
void MatmulForwardBf16(float* out, const float* inp, const bf16_t* weight, const float* bias, int64_t m, int64_t k,
                       int64_t n);
void MatmulBackwardBf16(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const bf16_t* weight, int64_t m, int64_t k, int64_t n, bool accumulate_dinp,
                        bool accumulate_dweight);

// dbias[N] (+)= column sums of dout[M,N]; exposed for row-parallel layers.
void BiasBackward(float* dbias, const float* dout, int64_t m, int64_t n, bool accumulate);

}  // namespace ogai::kernels
