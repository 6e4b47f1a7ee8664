// The launcher: ogai-run's main part. It plans the job, hosts the store, runs the local
// node's ranks itself, starts an agent on every other node (ssh or srun), runs rounds,
// stops everything on the first failure, restarts the group up to --max-restarts times, and
// returns the exit code (failure.h) after printing the root cause.
#pragma once

#include "launcher/options.h"

namespace ogai::launch {

// Runs the job described by `opts` (program or training job already resolved into
// opts.program). Returns the process exit code; prints errors itself.
int RunLauncher(const RunOptions& opts);

// `ogai-run --agent`: the per-node agent started by RunLauncher over ssh or srun.
int RunAgent(const RunOptions& opts);

}  // namespace ogai::launch
