#include "parallel/layout.h"

#include <numeric>

#include "comm/device_mesh.h"
#include "parallel/stage_split.h"

namespace ogai::parallel {

model::ModelLayout ParallelLayout::ModelLayout() const {
  model::ModelLayout m;
  m.tp_rank = tp_idx;
  m.tp_size = tp;
  m.layer_begin = stage_layers[pp_idx].first;
  m.layer_end = stage_layers[pp_idx].second;
  m.first_stage = first_stage();
  m.last_stage = last_stage();
  return m;
}

Result<std::vector<std::pair<int, int>>> StageLayerRanges(int layers, int pp, const std::vector<int>& override_layers) {
  std::vector<std::pair<int, int>> out;
  if (!override_layers.empty()) {
    if (static_cast<int>(override_layers.size()) != pp) {
      return InvalidArgument("parallel.pp_layers lists " + std::to_string(override_layers.size()) +
                             " stages but parallel.pp is " + std::to_string(pp) +
                             "; give one block count per pipeline stage");
    }
    const int sum = std::accumulate(override_layers.begin(), override_layers.end(), 0);
    if (sum != layers) {
      return InvalidArgument("parallel.pp_layers sums to " + std::to_string(sum) + " blocks but model.layers is " +
                             std::to_string(layers) + "; the counts must add up to the model's layers");
    }
    int b = 0;
    for (int n : override_layers) {
      if (n < 1) return InvalidArgument("parallel.pp_layers: every stage needs at least one block");
      out.push_back({b, b + n});
      b += n;
    }
    return out;
  }
  if (layers < pp) {
    return InvalidArgument("model.layers = " + std::to_string(layers) + " is fewer than parallel.pp = " +
                           std::to_string(pp) + " stages; every stage needs at least one block");
  }
  const int base = layers / pp, extra = layers % pp;
  int b = 0;
  for (int s = 0; s < pp; ++s) {
    const int n = base + (s < extra ? 1 : 0);
    out.push_back({b, b + n});
    b += n;
  }
  return out;
}

Result<ParallelLayout> MakeLayout(const ParallelConfig& p, const ModelConfig& model, int rank, int world) {
  OGAI_RETURN_IF_ERROR(CheckRankCount(p, world));
  if (model.heads % p.tp != 0) {
    return InvalidArgument("model.heads = " + std::to_string(model.heads) + " is not divisible by parallel.tp = " +
                           std::to_string(p.tp) + "; choose tp dividing the head count");
  }
  if (model.vocab % p.tp != 0) {
    return InvalidArgument("model.vocab = " + std::to_string(model.vocab) + " is not divisible by parallel.tp = " +
                           std::to_string(p.tp) + "; pad the vocabulary to a multiple of tp (e.g. " +
                           std::to_string((model.vocab + p.tp - 1) / p.tp * p.tp) + ")");
  }
  ParallelLayout l;
  l.dp = p.dp;
  l.tp = p.tp;
  l.pp = p.pp;
  l.rank = rank;
  l.world = world;
  const comm::MeshCoord c = comm::DeviceMesh::CoordOf(rank, p.tp, p.dp, p.pp);
  l.tp_idx = c.tp;
  l.dp_idx = c.dp;
  l.pp_idx = c.pp;
  // Without parallel.pp_layers, stages are cut by modelled cost (the head counts on the last).
  const std::vector<int> per_stage =
      p.pp_layers.empty() && model.layers >= p.pp ? CostBalancedLayers(model, p.pp) : p.pp_layers;
  OGAI_ASSIGN_OR_RETURN(l.stage_layers, StageLayerRanges(model.layers, p.pp, per_stage));
  return l;
}

}  // namespace ogai::parallel
