#include "kernels/cpu/gemm_tally.h"

#include <map>
#include <mutex>
#include <tuple>

namespace ogai::kernels {
namespace {

using Key = std::tuple<bool, bool, int64_t, int64_t, int64_t, bool>;  // trans_a, trans_b, m, n, k, fused
struct Totals {
  int64_t calls = 0;
  double seconds = 0;
};

std::mutex g_mu;
std::map<Key, Totals>& Tally() {
  static auto* t = new std::map<Key, Totals>();  // never destroyed: used until exit
  return *t;
}

}  // namespace

void RecordGemmShape(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, bool fused, double seconds) {
  std::lock_guard<std::mutex> lk(g_mu);
  Totals& t = Tally()[Key{trans_a, trans_b, m, n, k, fused}];
  ++t.calls;
  t.seconds += seconds;
}

std::vector<GemmShapeTime> GemmShapeTimes() {
  std::lock_guard<std::mutex> lk(g_mu);
  std::vector<GemmShapeTime> out;
  out.reserve(Tally().size());
  for (const auto& [key, t] : Tally()) {
    const auto& [ta, tb, m, n, k, fused] = key;
    out.push_back({ta, tb, m, n, k, fused, t.calls, t.seconds});
  }
  return out;
}

void ResetGemmShapeTimes() {
  std::lock_guard<std::mutex> lk(g_mu);
  Tally().clear();
}

}  // namespace ogai::kernels
