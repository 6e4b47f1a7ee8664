// What a training job would do, without doing it: `ogai-run --dry-run train.yaml` (which
// adds where the ranks would run) and `ogai-worker --dry-run --world N train.yaml`.
#pragma once

#include <string>

#include "core/status.h"
#include "train/config.h"

namespace ogai::train {

// Lines describing the job on `world` ranks: the layout (and the blocks of each pipeline
// stage), how the global batch derives, the parameter count, the per-rank memory estimate
// (train/memory_estimate.h) and what it would resume from. Reads only the checkpoint
// manifests; allocates nothing large. A layout `world` cannot hold is the error the job
// would stop with.
Result<std::string> DescribePlan(const Config& cfg, int world);

}  // namespace ogai::train
