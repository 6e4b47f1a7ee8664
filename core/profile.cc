#include "core/profile.h"

#include <atomic>
#include <mutex>

namespace ogai::profile {
namespace {
std::atomic<bool> g_on{false};
std::mutex g_mu;
std::array<double, kNumPhases> g_totals{};
}  // namespace

const char* PhaseName(Phase p) {
  static const char* names[kNumPhases] = {"gemm",          "attention",   "layernorm", "gelu",      "embedding",
                                          "cross-entropy", "elementwise", "tp-comm",   "dp-comm",   "pp-comm",
                                          "optimizer",     "grad-norm",   "data",      "checkpoint"};
  return names[p];
}

void Enable(bool on) { g_on.store(on); }
bool Enabled() { return g_on.load(std::memory_order_relaxed); }
void Reset() {
  std::lock_guard<std::mutex> lk(g_mu);
  g_totals.fill(0.0);
}
std::array<double, kNumPhases> Totals() {
  std::lock_guard<std::mutex> lk(g_mu);
  return g_totals;
}
void Add(Phase p, double seconds) {
  std::lock_guard<std::mutex> lk(g_mu);
  g_totals[p] += seconds;
}

}  // namespace ogai::profile
