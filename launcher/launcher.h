// The launcher: ogai-run's main part. It plans the job, hosts the store, runs the local
// node's ranks itself, starts an agent on every other node (ssh or srun), runs rounds,
// stops everything on the first failure, restarts the group up to --max-restarts times, and
// returns the exit code (failure.h) after printing the root cause.
#pragma once

#include "core/status.h"
#include "launcher/options.h"
#include "launcher/plan.h"

namespace ogai::launch {

// Where the ranks would run: -H / --hostfile, else the Slurm allocation, else this machine,
// placed by -np / --nproc-per-node / --nnodes / --map-by. Sets *slurm when the hosts came from
// Slurm. Nothing is started.
Result<JobPlan> PlanJob(const RunOptions& opts, bool* slurm);

// Runs the job described by `opts` (program or training job already resolved into
// opts.program). Returns the process exit code; prints errors itself.
int RunLauncher(const RunOptions& opts);

// `ogai-run --agent`: the per-node agent started by RunLauncher over ssh or srun.
int RunAgent(const RunOptions& opts);

}  // namespace ogai::launch
