// ogai-run's command line: mpirun's flags with mpirun's meaning, torchrun's job flags, and
// the train.yaml `launch:` section underneath (the command line wins).
//
//   ogai-run [flags] train.yaml [section.key=value ...]     a training job (ranks run ogai-worker)
//   ogai-run [flags] -- PROGRAM [ARGS ...]                  any program as the ranks
//   ogai-run [flags] PROGRAM [ARGS ...]                     the same, mpirun style (the first
//                                                           word that is not a flag and does
//                                                           not end in .yaml/.yml)
//
// Long flags take one or two dashes (`-np 4`, `--np 4`, `--np=4`), as mpirun's do.
// UsageText() is the reference; docs/launcher.md explains each flag.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "train/config.h"

namespace ogai::launch {

enum class RunMode { kRun, kHelp, kHelpConfig, kHelpEnv, kVersion, kAgent };

struct RunOptions {
  RunMode mode = RunMode::kRun;
  LaunchConfig launch;                  // the launch settings (command line over train.yaml)
  std::set<std::string> given;          // launch fields set on the command line: "np", "hosts", ...
  std::vector<std::string> program;     // PROGRAM ARGS... (empty for a training job)
  std::string train_yaml;               // the training config (empty for a program job)
  std::vector<std::string> overrides;   // section.key=value for the training config
  std::string mpi = "pmix";             // pmix: serve PMIx to the ranks | none
  std::string agent_launcher = "auto";  // auto | ssh | slurm: how remote agents start
  int verbosity = 0;                    // -v: 1, -vv: 2
  // A training job with checkpoint.peer_copies > 0: every node's agent serves a shard cache.
  bool shard_cache = false;
  // --dry-run: print the plan of a training job (hosts, layout, batch, parameters, memory,
  // resume) and start nothing.
  bool dry_run = false;
};

// Parses argv[1..]. Errors name the flag, what was wrong and the fix; nothing is started.
Result<RunOptions> ParseCommandLine(const std::vector<std::string>& args);

// Fills every launch field the command line did not set from `yaml` (train.yaml's launch:
// section); -x variables from both are kept, the command line's last.
void MergeLaunchConfig(RunOptions& opts, const LaunchConfig& yaml);

// Parses --nnodes: "N" or "MIN:MAX" (1 <= MIN <= MAX). Empty means "not set": 0, 0.
Status ParseNnodes(const std::string& s, int* min_nodes, int* max_nodes);

std::string UsageText();

}  // namespace ogai::launch
