#include "optim/adamw.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/adamw.h"

namespace ogai::optim {

AdamW::AdamW(const TrainConfig& cfg, const std::vector<model::ParamSpec>& params, std::vector<Range> ranges)
    : cfg_(cfg), ranges_(std::move(ranges)) {
  for (const Range& r : ranges_) {
    for (const auto& p : params) {
      // Padding after a tensor belongs to it (it stays zero).
      const int64_t b = std::max(r.first, p.offset);
      const int64_t e = std::min(r.second, p.offset + p.extent);
      if (b < e) spans_.push_back({b, e, size_ + (b - r.first), p.decay});
    }
    size_ += r.second - r.first;
  }
  m_ = Buffer(static_cast<size_t>(size_) * sizeof(float), MemCategory::kOptimizerState);
  v_ = Buffer(static_cast<size_t>(size_) * sizeof(float), MemCategory::kOptimizerState);
}

void AdamW::Step(float* params, float* grads, double lr, float grad_scale, int64_t step, bool clear_grads,
                 uint16_t* params_bf16) {
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
    kernels::AdamWUpdate(params + sp.begin, grads + sp.begin, m() + sp.state, v() + sp.state, n, s, sp.decay,
                         clear_grads, params_bf16 != nullptr ? params_bf16 + sp.begin : nullptr);
  }
}

float ClipScale(double global_norm, double clip) {
  if (clip <= 0 || !std::isfinite(global_norm) || global_norm <= clip) return 1.0f;
  return static_cast<float>(clip / global_norm);
}

}  // namespace ogai::optim
