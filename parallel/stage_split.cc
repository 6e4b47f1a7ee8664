#include "parallel/stage_split.h"

#include <algorithm>
#include <limits>

#include "core/check.h"

namespace ogai::parallel {

double BlockCostPerToken(const ModelConfig& m) {
  const double c = m.d_model;
  // Matmul parameters of a block: QKV 3C^2 + 3C, projection C^2 + C, MLP 8C^2 + 5C.
  const double params = 12.0 * c * c + 9.0 * c;
  return 6.0 * params + 6.0 * m.seq_len * c;
}

double HeadCostPerToken(const ModelConfig& m) { return 6.0 * static_cast<double>(m.vocab) * m.d_model; }

std::vector<int> CostBalancedLayers(const ModelConfig& m, int pp) {
  const int n = m.layers;
  OGAI_CHECK(pp >= 1 && n >= pp);
  if (pp == 1) return {n};
  // Blocks cost the same and only the last stage carries more (the head), so the best split
  // gives the last stage k blocks and spreads the other n - k evenly over the first pp - 1
  // stages (the extra ones first); try every k (O(layers), no table).
  const double block = BlockCostPerToken(m), head = HeadCostPerToken(m);
  int best_k = 1;
  double best = std::numeric_limits<double>::infinity();
  for (int k = 1; k <= n - (pp - 1); ++k) {
    const int rest = n - k, per = (rest + pp - 2) / (pp - 1);  // the fullest of the other stages
    const double cost = std::max(per * block, k * block + head);
    if (cost <= best) {  // ties: more blocks on the last stage, fewer on the others
      best = cost;
      best_k = k;
    }
  }
  std::vector<int> layers(pp);
  const int rest = n - best_k;
  for (int s = 0; s < pp - 1; ++s) layers[s] = rest / (pp - 1) + (s < rest % (pp - 1) ? 1 : 0);
  layers[pp - 1] = best_k;
  return layers;
}

}  // namespace ogai::parallel
