// AdamW over (a range of) the model's flat parameter buffer.
//
// The optimizer owns the moment buffers (m, v: MemCategory::kOptimizerState) for a set of
// element ranges of the flat buffer — the whole buffer normally, this rank's chunks of
// every gradient bucket under ZeRO-1. m and v hold the ranges back to back, in the order
// given. Per-tensor weight-decay flags come from the model's ParamSpecs.
// Gradient clipping is applied through grad_scale = min(1, clip / global_norm), where the
// global norm is computed by the caller (it may need all-reduces over several groups).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/memory.h"
#include "model/gpt.h"
#include "optim/train_config.h"

namespace ogai::optim {

class AdamW {
 public:
  using Range = std::pair<int64_t, int64_t>;  // [begin, end) in flat-buffer elements

  AdamW(const TrainConfig& cfg, const std::vector<model::ParamSpec>& params, std::vector<Range> ranges);

  // One update of the owned ranges of params from the same ranges of grads; step is
  // 1-based. With `clear_grads`, clears those gradients in the same pass.
  // params_bf16 (optional, same layout as params): also written with bf16(params) (mixed precision).
  void Step(float* params, float* grads, double lr, float grad_scale, int64_t step, bool clear_grads = true,
            uint16_t* params_bf16 = nullptr);

  const std::vector<Range>& ranges() const { return ranges_; }
  float* m() { return m_.as<float>(); }
  float* v() { return v_.as<float>(); }
  const float* m() const { return m_.as<float>(); }
  const float* v() const { return v_.as<float>(); }
  // Elements of state per moment (the sum of the range lengths).
  int64_t size() const { return size_; }

 private:
  struct Span {
    int64_t begin, end;  // in flat-buffer elements
    int64_t state;       // where this span's state starts in m/v
    bool decay;
  };
  TrainConfig cfg_;
  std::vector<Range> ranges_;
  int64_t size_ = 0;
  std::vector<Span> spans_;
  Buffer m_, v_;
};

// Global-norm clip factor: min(1, clip / norm) (1 when clip is 0 or the norm is not finite).
float ClipScale(double global_norm, double clip);

}  // namespace ogai::optim
