// Where a rank sits in the dp x tp x pp layout, and which part of the model it holds.
//
// Megatron's order, computed by comm::DeviceMesh::CoordOf / RankOf (the one place that
// knows it): TP ranks are adjacent, PP is outermost:
//   rank = pp_idx * (dp * tp) + dp_idx * tp + tp_idx
// Pipeline stages get contiguous ranges of blocks: as listed in parallel.pp_layers, or else
// cut by modelled cost (stage_split.h: the head counts on the last stage).
#pragma once

#include <utility>
#include <vector>

#include "core/status.h"
#include "model/gpt.h"
#include "model/model_config.h"
#include "parallel/parallel_config.h"

namespace ogai::parallel {

struct ParallelLayout {
  int dp = 1, tp = 1, pp = 1;
  int rank = 0, world = 1;
  int dp_idx = 0, tp_idx = 0, pp_idx = 0;
  std::vector<std::pair<int, int>> stage_layers;  // [begin, end) of blocks per stage

  bool first_stage() const { return pp_idx == 0; }
  bool last_stage() const { return pp_idx == pp - 1; }
  model::ModelLayout ModelLayout() const;
};

// Blocks per stage: `override_layers` (one count per stage, summing to `layers`) or, when it
// is empty, equal counts (the first layers % pp stages get one extra block).
Result<std::vector<std::pair<int, int>>> StageLayerRanges(int layers, int pp, const std::vector<int>& override_layers);

// Checks dp * tp * pp == world and that the model divides (heads and vocab by tp, layers
// over pp), with errors that name the keys and say what to change.
Result<ParallelLayout> MakeLayout(const ParallelConfig& p, const ModelConfig& model, int rank, int world);

}  // namespace ogai::parallel
