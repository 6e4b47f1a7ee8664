#include "kernels/cpu/gemm_tally.h"

#include <map>
#include <mutex>
#include <tuple>

namespace ogai::kernels {
namespace {

using Key = std::tuple<bool, bool, int64_t, int64_t, int64_t, bool>;

std::mutex g_mu;
std::map<Key, GemmShapeTime>& Tally() {
  static auto* t = new std::map<Key, GemmShapeTime>();  // never destroyed: used until exit
  return *t;
}

}  // namespace

void RecordGemmShape(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, bool fused, double seconds) {
  std::lock_guard<std::mutex> lk(g_mu);
  GemmShapeTime& t = Tally()[Key{trans_a, trans_b, m, n, k, fused}];
  t.trans_a = trans_a;
  t.trans_b = trans_b;
  t.m = m;
  t.n = n;
  t.k = k;
  t.fused = fused;
  ++t.calls;
  t.seconds += seconds;
}

std::vector<GemmShapeTime> GemmShapeTimes() {
  std::lock_guard<std::mutex> lk(g_mu);
  std::vector<GemmShapeTime> out;
  out.reserve(Tally().size());
  for (const auto& [key, t] : Tally()) out.push_back(t);
  return out;
}

void ResetGemmShapeTimes() {
  std::lock_guard<std::mutex> lk(g_mu);
  Tally().clear();
}

}  // namespace ogai::kernels
