// The `parallel:` section of train.yaml: the dp x tp x pp layout and how the collectives run
// (train/config.cc declares its keys; docs/config.md lists them).
#pragma once

#include <string>
#include <vector>

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

}  // namespace ogai
