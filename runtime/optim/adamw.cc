#include "runtime/optim/adamw.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/adamw.h"

namespace ogai::optim {

AdamW::AdamW(const TrainConfig& cfg, const std::vector<model::ParamSpec>& params, int64_t begin,
             int64_t end)
    : cfg_(cfg), begin_(begin), end_(end) {
  for (const auto& p : params) {
    // Padding between tensors belongs to the preceding tensor (it stays zero).
    const int64_t b = std::max(begin, p.offset);
    const int64_t e = std::min(end, p.offset + (p.numel + 15) / 16 * 16);
    if (b < e) spans_.push_back({b, e, p.decay});
  }
  m_ = Buffer(static_cast<size_t>(end - begin) * sizeof(float), MemCategory::kOptimizerState);
  v_ = Buffer(static_cast<size_t>(end - begin) * sizeof(float), MemCategory::kOptimizerState);
}

void AdamW::Step(float* params, float* grads, double lr, float grad_scale, int64_t step) {
  kernels::AdamWStep s;
  s.lr = static_cast<float>(lr);
  s.beta1 = static_cast<float>(cfg_.beta1);
  s.beta2 = static_cast<float>(cfg_.beta2);
  s.eps = static_cast<float>(cfg_.eps);
  s.weight_decay = static_cast<float>(cfg_.weight_decay);
  s.step = step;
  s.grad_scale = grad_scale;
  for (const Span& sp : spans_) {
    const int64_t n = sp.end - sp.begin;
    kernels::AdamWUpdate(params + sp.begin, grads + sp.begin, m() + (sp.begin - begin_),
                         v() + (sp.begin - begin_), n, s, sp.decay, true);
  }
}

float ClipScale(double global_norm, double clip) {
  if (clip <= 0 || !std::isfinite(global_norm) || global_norm <= clip) return 1.0f;
  return static_cast<float>(clip / global_norm);
}

}  // namespace ogai::optim
