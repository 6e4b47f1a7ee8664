// `ogai-run --dry-run train.yaml [overrides]`: the plan of a training job, nothing started.
// ogai-run prints where the ranks would run (the same placement a real run makes:
// launcher.h PlanJob), then runs `ogai-worker --dry-run --world N` for the rest (layout,
// batch, parameters, memory per rank, resume; train/dry_run.h), so ogai-run itself does not
// link the model and checkpoint libraries.
#pragma once

#include <string>

#include "launcher/options.h"

namespace ogai::launch {

// `opts` as main() resolved it (opts.program = {worker, yaml, overrides...}). Returns the
// exit code.
int RunDryRun(const RunOptions& opts);

}  // namespace ogai::launch
