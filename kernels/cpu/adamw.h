// AdamW (decoupled weight decay, Loshchilov & Hutter), with bias correction:
//
//   g  = grad * grad_scale                 (grad_scale carries global-norm clipping)
//   m  = b1 m + (1 - b1) g
//   v  = b2 v + (1 - b2) g^2
//   p -= lr * ( (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + wd * p )
//
// `decay` false (biases, LayerNorm) means wd = 0 for that tensor. When `zero_grad`, the
// gradient is cleared in the same pass (saves one sweep over memory).
// SumSquares returns sum(x^2) in double, in fixed chunks: the same bits for any thread count.
#pragma once

#include <cstdint>

namespace ogai::kernels {

struct AdamWStep {
  float lr = 0;
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0;
  int64_t step = 1;  // 1-based
  float grad_scale = 1.0f;
};

// param_bf16, when not null, also receives bf16(param) after the update (mixed precision: the
// model's bf16 weight copy is written in the same pass instead of a second sweep).
void AdamWUpdate(float* param, float* grad, float* m, float* v, int64_t n, const AdamWStep& s, bool decay,
                 bool zero_grad, uint16_t* param_bf16 = nullptr);

double SumSquares(const float* x, int64_t n);

}  // namespace ogai::kernels
