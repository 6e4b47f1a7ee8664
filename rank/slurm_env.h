// Slurm's compressed environment formats, expanded (part of ogai_rankenv).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::launch {

// "node[01-03,7],gpu1,r[1-2]n[1-2]" -> node01 node02 node03 node7 gpu1 r1n1 r1n2 r2n1 r2n2.
// Zero padding of a range's first number is kept. Errors name the offending piece.
Result<std::vector<std::string>> ExpandSlurmHostlist(const std::string& list);

// "2(x3),1" -> 2 2 2 1 (SLURM_TASKS_PER_NODE, SLURM_STEP_TASKS_PER_NODE,
// SLURM_JOB_CPUS_PER_NODE).
Result<std::vector<int>> ExpandSlurmCounts(const std::string& counts);

}  // namespace ogai::launch
