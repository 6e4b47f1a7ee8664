#include "optim/adamw.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
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
                 uint16_t* params_bf16, const std::vector<SnapshotTarget>* snapshot) {
  kernels::AdamWStep s;
  s.lr = static_cast<float>(lr);
  s.beta1 = static_cast<float>(cfg_.beta1);
  s.beta2 = static_cast<float>(cfg_.beta2);
  s.eps = static_cast<float>(cfg_.eps);
  s.weight_decay = static_cast<float>(cfg_.weight_decay);
  s.step = step;
  s.grad_scale = grad_scale;
  if (snapshot == nullptr || snapshot->empty()) {
    for (const Span& sp : spans_) {
      const int64_t n = sp.end - sp.begin;
      kernels::AdamWUpdate(params + sp.begin, grads + sp.begin, m() + sp.state, v() + sp.state, n, s, sp.decay,
                           clear_grads, params_bf16 != nullptr ? params_bf16 + sp.begin : nullptr);
    }
    return;
  }
  // With a snapshot: every span cut into runs of at most a chunk (a target's chunks exactly,
  // so that each run's checksums are whole chunks'), all runs shared by the threads at once.
  std::vector<const SnapshotTarget*> targets;
  for (const SnapshotTarget& t : *snapshot) targets.push_back(&t);
  std::sort(targets.begin(), targets.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  constexpr int64_t kPlainRun = 1 << 18;  // elements per run outside the targets
  std::vector<kernels::AdamWRun> runs;
  auto add = [&](const Span& sp, int64_t b, int64_t e) {
    kernels::AdamWRun r{};
    r.param = params + b;
    r.grad = grads + b;
    r.m = m() + sp.state + (b - sp.begin);
    r.v = v() + sp.state + (b - sp.begin);
    r.param_bf16 = params_bf16 != nullptr ? params_bf16 + b : nullptr;
    r.n = e - b;
    r.decay = sp.decay;
    runs.push_back(r);
    return &runs.back();
  };
  // The spans need not come in buffer order (ZeRO-1's ranges, a model whose tensors are not
  // laid out in declaration order): each span finds its first target afresh, the first one
  // that ends after the span begins (targets do not overlap, so sorted by begin is sorted by end).
  for (const Span& sp : spans_) {
    size_t ti = static_cast<size_t>(std::partition_point(targets.begin(), targets.end(),
                                                         [&](const SnapshotTarget* t) { return t->end <= sp.begin; }) -
                                    targets.begin());
    for (int64_t e = sp.begin; e < sp.end;) {
      while (ti < targets.size() && targets[ti]->end <= e) ++ti;
      const SnapshotTarget* t = ti < targets.size() ? targets[ti] : nullptr;
      if (t != nullptr && t->begin <= e) {  // inside a target (StateIndex: within this span)
        OGAI_CHECK(t->end <= sp.end);       // a target crossing tensors: StateIndex rules it out
        const int64_t k = (e - t->begin) / t->chunk;
        const int64_t stop = std::min(t->end, t->begin + (k + 1) * t->chunk);
        kernels::AdamWRun* r = add(sp, e, stop);
        r->out_param = t->param + (e - t->begin);
        r->out_m = t->m + (e - t->begin);
        r->out_v = t->v + (e - t->begin);
        r->crc[0] = t->crc_param + k;
        r->crc[1] = t->crc_m + k;
        r->crc[2] = t->crc_v + k;
        e = stop;
      } else {
        const int64_t stop = std::min({sp.end, e + kPlainRun, t != nullptr ? t->begin : sp.end});
        add(sp, e, stop);
        e = stop;
      }
    }
  }
  kernels::AdamWUpdateRuns(runs, s, clear_grads);
}

int64_t AdamW::StateIndex(int64_t begin, int64_t end) const {
  for (const Span& sp : spans_) {
    if (sp.begin <= begin && end <= sp.end) return sp.state + (begin - sp.begin);
  }
  return -1;
}

float ClipScale(double global_norm, double clip) {
  if (clip <= 0 || !std::isfinite(global_norm) || global_norm <= clip) return 1.0f;
  return static_cast<float>(clip / global_norm);
}

}  // namespace ogai::optim
