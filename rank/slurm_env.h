// Slurm's compressed environment formats, expanded (part of ogai_rankenv).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "rank/rank_env.h"

namespace ogai::launch {

// "node[01-03,7],gpu1,r[1-2]n[1-2]" -> node01 node02 node03 node7 gpu1 r1n1 r1n2 r2n1 r2n2.
// Zero padding of a range's first number is kept. Errors name the offending piece.
Result<std::vector<std::string>> ExpandSlurmHostlist(const std::string& list);

// "2(x3),1" -> 2 2 2 1 (SLURM_TASKS_PER_NODE, SLURM_STEP_TASKS_PER_NODE,
// SLURM_JOB_CPUS_PER_NODE).
Result<std::vector<int>> ExpandSlurmCounts(const std::string& counts);

// The Slurm allocation a process runs in (inside sbatch or salloc).
struct SlurmAllocation {
  std::vector<std::string> hosts;  // SLURM_JOB_NODELIST (or SLURM_NODELIST), expanded
  std::vector<int> slots;          // per host: SLURM_TASKS_PER_NODE (or SLURM_JOB_CPUS_PER_NODE), else 1
  std::string nodelist;            // the list as Slurm wrote it, for messages
};
// nullopt outside an allocation (no SLURM_JOB_ID). SLURM_JOB_ID without a node list is an
// InvalidArgument that says how to run ogai-run.
Result<std::optional<SlurmAllocation>> DetectSlurmAllocation(const EnvMap& env);

// Slurm's name for this node in a task srun started (SLURMD_NODENAME), "" elsewhere.
std::string SlurmNodeName(const EnvMap& env);

}  // namespace ogai::launch
