// AdamW over (a range of) the model's flat parameter buffer.
//
// The optimizer owns the moment buffers (m, v: MemCategory::kOptimizerState) for the
// elements [begin, end) of the flat buffer it is given — the whole buffer normally, this
// rank's shard under ZeRO-1. Per-tensor weight-decay flags come from the model's ParamSpecs.
// Gradient clipping is applied through grad_scale = min(1, clip / global_norm), where the
// global norm is computed by the caller (it may need all-reduces over several groups).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/core/config.h"
#include "runtime/core/memory.h"
#include "runtime/model/gpt.h"

namespace ogai::optim {

class AdamW {
 public:
  AdamW(const TrainConfig& cfg, const std::vector<model::ParamSpec>& params, int64_t begin,
        int64_t end);

  // One update of params[begin, end) from grads[begin, end); step is 1-based. Clears those
  // gradients in the same pass.
  void Step(float* params, float* grads, double lr, float grad_scale, int64_t step);

  int64_t begin() const { return begin_; }
  int64_t end() const { return end_; }
  float* m() { return m_.as<float>(); }
  float* v() { return v_.as<float>(); }
  const float* m() const { return m_.as<float>(); }
  const float* v() const { return v_.as<float>(); }
  int64_t size() const { return end_ - begin_; }

 private:
  struct Span {
    int64_t begin, end;  // in flat-buffer elements, within [begin_, end_)
    bool decay;
  };
  TrainConfig cfg_;
  int64_t begin_, end_;
  std::vector<Span> spans_;
  Buffer m_, v_;
};

// Global-norm clip factor: min(1, clip / norm) (1 when clip is 0 or the norm is not finite).
float ClipScale(double global_norm, double clip);

}  // namespace ogai::optim
