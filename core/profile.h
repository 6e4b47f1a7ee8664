// A phase profiler for the training step: where the time of a step goes.
//
// Off by default (one predictable branch per scope). `ogai-bench train --breakdown` and
// `-vv` turn it on; the trainer's caller reads the per-phase totals.
//
//   { OGAI_PROFILE(kGemm); Sgemm(...); }
#pragma once

#include <array>
#include <chrono>
#include <string>

namespace ogai::profile {

enum Phase : int {
  kGemm = 0,
  kAttention,
  kLayerNorm,
  kGelu,
  kEmbedding,
  kCrossEntropy,
  kElementwise,  // residual adds, bias reductions, copies
  kTpComm,
  kDpComm,
  kPpComm,
  kOptimizer,
  kGradNorm,
  kData,
  kCheckpoint,
  kNumPhases,
};

const char* PhaseName(Phase p);

void Enable(bool on);
bool Enabled();
void Reset();
// Seconds spent in each phase since the last Reset (only the calling thread's scopes that
// ran while enabled).
std::array<double, kNumPhases> Totals();
void Add(Phase p, double seconds);

class Scope {
 public:
  explicit Scope(Phase p) : phase_(p), on_(Enabled()) {
    if (on_) start_ = std::chrono::steady_clock::now();
  }
  ~Scope() {
    if (on_) {
      Add(phase_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    }
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Phase phase_;
  bool on_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ogai::profile

#define OGAI_PROFILE_CAT2(a, b) a##b
#define OGAI_PROFILE_CAT(a, b) OGAI_PROFILE_CAT2(a, b)
#define OGAI_PROFILE(phase) ::ogai::profile::Scope OGAI_PROFILE_CAT(_ogai_prof_, __LINE__)(::ogai::profile::phase)
