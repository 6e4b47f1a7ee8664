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
  const double block = BlockCostPerToken(m), head = HeadCostPerToken(m);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // best[s][i]: the smallest possible largest-stage cost with the first i blocks on stages
  // 0..s-1; cut[s][i]: where stage s-1 starts in that split.
  std::vector<std::vector<double>> best(pp + 1, std::vector<double>(n + 1, kInf));
  std::vector<std::vector<int>> cut(pp + 1, std::vector<int>(n + 1, -1));
  best[0][0] = 0.0;
  for (int s = 1; s <= pp; ++s) {
    const double extra = s == pp ? head : 0.0;
    for (int i = s; i <= n - (pp - s); ++i) {
      for (int j = s - 1; j < i; ++j) {  // stage s-1 holds blocks [j, i)
        if (best[s - 1][j] == kInf) continue;
        const double cost = std::max(best[s - 1][j], (i - j) * block + extra);
        if (cost < best[s][i]) {  // strict: the earliest split wins ties
          best[s][i] = cost;
          cut[s][i] = j;
        }
      }
    }
  }
  std::vector<int> layers(pp);
  int i = n;
  for (int s = pp; s >= 1; --s) {
    const int j = cut[s][i];
    layers[s - 1] = i - j;
    i = j;
  }
  return layers;
}

}  // namespace ogai::parallel
