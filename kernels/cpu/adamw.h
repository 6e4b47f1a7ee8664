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
#include <vector>

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

// A run of elements updated as AdamWUpdate does, whose updated param, m and v are also
// written to out_param, out_m and out_v (a checkpoint's snapshot taken in the update's own
// pass), with the CRC-32C of each of the three written byte ranges in *crc[0..2]. Without
// outputs (out_param null) it is a plain update.
struct AdamWRun {
  float* param;
  float* grad;
  float* m;
  float* v;
  uint16_t* param_bf16;  // optional, as in AdamWUpdate
  int64_t n;
  bool decay;
  float* out_param = nullptr;
  float* out_m = nullptr;
  float* out_v = nullptr;
  uint32_t* crc[3] = {nullptr, nullptr, nullptr};
};
// The runs, split between the threads run by run; each element's arithmetic is AdamWUpdate's
// (the same bits). The outputs are checksummed in pieces while still in the cache.
void AdamWUpdateRuns(const std::vector<AdamWRun>& runs, const AdamWStep& s, bool zero_grad);

double SumSquares(const float* x, int64_t n);

}  // namespace ogai::kernels
