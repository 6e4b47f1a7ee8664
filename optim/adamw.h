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

// A part of a tensor whose updated values AdamW::Step also writes out (a checkpoint's snapshot
// taken in the update's own pass, train/checkpointing.h): flat parameter elements
// [begin, end), their updated param, m and v to param/m/v[0 .. end - begin), and for each
// chunk of `chunk` elements from begin (the last one shorter), the CRC-32C of those bytes to
// crc_param/crc_m/crc_v[k].
struct SnapshotTarget {
  int64_t begin = 0, end = 0;
  float* param = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  int64_t chunk = 0;
  uint32_t* crc_param = nullptr;
  uint32_t* crc_m = nullptr;
  uint32_t* crc_v = nullptr;
};

class AdamW {
 public:
  using Range = std::pair<int64_t, int64_t>;  // [begin, end) in flat-buffer elements

  AdamW(const TrainConfig& cfg, const std::vector<model::ParamSpec>& params, std::vector<Range> ranges);

  // One update of the owned ranges of params from the same ranges of grads; step is
  // 1-based. With `clear_grads`, clears those gradients in the same pass.
  // params_bf16 (optional, same layout as params): also written with bf16(params) (mixed precision).
  // snapshot (optional; each target within one tensor this optimizer owns, see
  // StateIndex): also writes those elements out. The update's bits are the same either way.
  void Step(float* params, float* grads, double lr, float grad_scale, int64_t step, bool clear_grads = true,
            uint16_t* params_bf16 = nullptr, const std::vector<SnapshotTarget>* snapshot = nullptr);
  // Where flat parameter elements [begin, end) keep their moments: the index into m()/v() of
  // `begin`, when the whole range lies in one tensor this optimizer owns; else -1.
  int64_t StateIndex(int64_t begin, int64_t end) const;

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
