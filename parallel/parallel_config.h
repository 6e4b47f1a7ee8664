// The `parallel:` section of train.yaml: the dp x tp x pp layout and how the collectives run
// (train/config.cc declares its keys; docs/config.md lists them).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace ogai {

struct ParallelConfig {
  int dp = 1;
  int tp = 1;
  int pp = 1;
  int zero = 0;                  // 0 | 1 (ZeRO-1: shard optimizer state over dp)
  double bucket_mb = 25.0;       // DP gradient bucket size
  bool overlap = true;           // overlap DP all-reduce with backward
  std::vector<int> pp_layers;    // layers per stage; empty = balanced
  std::string backend = "auto";  // auto | ucx | mpi | nccl
  double timeout_s = 300.0;      // collective timeout
};

// OK when a job of `world` ranks is the layout's dp x tp x pp; else the one error every rank
// stops with (parallel/layout.cc), which ogai-run gives before it starts them.
inline Status CheckRankCount(const ParallelConfig& p, int world) {
  const int n = p.dp * p.tp * p.pp;
  if (n == world) return Status::Ok();
  return InvalidArgument("parallel.dp x parallel.tp x parallel.pp = " + std::to_string(p.dp) + " x " +
                         std::to_string(p.tp) + " x " + std::to_string(p.pp) + " = " + std::to_string(n) +
                         " but the job has " + std::to_string(world) + " ranks; start " + std::to_string(n) +
                         (n == 1 ? " rank" : " ranks") + " (-np) or change the layout");
}

}  // namespace ogai
