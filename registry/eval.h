// `ogai-model eval MODEL --data DATASET`: the version's loss, perplexity and bits per byte on
// the validation split of a dataset prepared by ogai-data, computed by the runtime itself:
// ogai-model materializes the version (registry/materialize.h), writes an eval-only
// train.yaml (the version's model shape, data.source: dataset, train.init_from: that
// checkpoint, train.eval_only: true) and runs it with ogai-run (any dp and tp; pp = 1, which
// train/evaluate.h needs), then reads the validation loss from the run's metrics file and
// records it on the version.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "registry/registry.h"

namespace ogai::registry {

struct EvalRequest {
  std::string data;                    // a dataset folder (ogai-data prepare)
  int batches = 4;                     // train.eval_batches
  int global_batch = 8;                // sequences per batch
  int np = 1;                          // ranks (ogai-run -np)
  std::vector<std::string> overrides;  // more KEY=VALUE for the run (parallel.dp=2, ...)
};

Result<Evaluation> EvaluateVersion(Registry& reg, const VersionInfo& v, const EvalRequest& req);

}  // namespace ogai::registry
