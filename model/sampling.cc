#include "model/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/rng.h"

namespace ogai::model {

int32_t SampleToken(const float* logits, int vocab, const SamplingOptions& opt, uint64_t step) {
  if (opt.temperature <= 0.0) {
    int best = 0;
    for (int i = 1; i < vocab; ++i)
      if (logits[i] > logits[best]) best = i;
    return best;
  }
  // Candidates by descending logit (ties: lower id first), cut to top_k.
  std::vector<int> idx(vocab);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  size_t n = idx.size();
  if (opt.top_k > 0 && static_cast<size_t>(opt.top_k) < n) n = opt.top_k;
  std::vector<double> p(n);
  const double mx = logits[idx[0]];
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    p[i] = std::exp((logits[idx[i]] - mx) / opt.temperature);
    sum += p[i];
  }
  // Nucleus: the smallest prefix whose probability reaches top_p.
  if (opt.top_p < 1.0) {
    double acc = 0;
    size_t keep = n;
    for (size_t i = 0; i < n; ++i) {
      acc += p[i] / sum;
      if (acc >= opt.top_p) {
        keep = i + 1;
        break;
      }
    }
    n = keep;
    sum = 0;
    for (size_t i = 0; i < n; ++i) sum += p[i];
  }
  // Counter-based uniform in [0, 1) from (seed, step).
  const double u = static_cast<double>(Mix64(opt.seed ^ Mix64(step + 0x5851F42D4C957F2Dull)) >> 11) * 0x1.0p-53;
  double acc = 0;
  for (size_t i = 0; i < n; ++i) {
    acc += p[i] / sum;
    if (u < acc) return idx[i];
  }
  return idx[n - 1];
}

}  // namespace ogai::model
