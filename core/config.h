// train.yaml: the typed, validated job configuration.
//
// A train.yaml has up to six sections: model, data, train, parallel, checkpoint, launch.
// Every key is declared once in the schema (config.cc) with its type, default and help
// text; the parser walks the YAML, rejects any key the schema does not know (naming the
// key, the file and line, and the nearest valid key), checks each value's type and range,
// then checks the relations between values (heads divide d_model, ...).
//
// Any key can be overridden from the command line with `section.key=value`, e.g.
// `ogai-run train.yaml train.steps=50 parallel.dp=2`; overrides are applied before
// validation, so they are checked like the file's own values.
//
// docs/config.md is the reference; `ogai-run --help-config` prints the schema.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace ogai {

struct ModelConfig {
  int layers = 2;
  int heads = 2;
  int d_model = 64;
  int vocab = 256;
  int seq_len = 64;
  double init_std = 0.02;
};

struct DataConfig {
  std::string source = "demo";      // demo | shards
  std::vector<std::string> paths;   // token shard files (source: shards)
  int64_t demo_tokens = 1 << 20;    // size of the generated demo corpus
  uint64_t demo_seed = 1234;
};

struct TrainConfig {
  int64_t steps = 100;
  int64_t stop_after = 0;           // stop (and save) after this step; 0: at steps. The schedule spans steps.
  int micro_batch = 4;
  int global_batch = 0;             // 0: micro_batch * grad_accum * dp
  int grad_accum = 0;               // 0: derived from global_batch (or 1)
  double lr = 3e-4;
  double min_lr = 0.0;              // floor of the schedule; 0 means lr / 10
  int64_t warmup = 0;               // linear warm-up steps
  std::string schedule = "cosine";  // cosine | linear | constant
  double weight_decay = 0.1;
  double grad_clip = 1.0;           // 0 disables clipping
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  uint64_t seed = 42;
  int64_t log_every = 1;
  std::string metrics_file;         // one JSON line per step ("" = none); {rank} = the rank
};

struct ParallelConfig {
  int dp = 1;
  int tp = 1;
  int pp = 1;
  int zero = 0;                     // 0 | 1 (ZeRO-1: shard optimizer state over dp)
  double bucket_mb = 25.0;          // DP gradient bucket size
  bool overlap = true;              // overlap DP all-reduce with backward
  std::vector<int> pp_layers;       // layers per stage; empty = balanced
  std::string backend = "auto";     // auto | ucx | mpi | nccl
  double timeout_s = 300.0;         // collective timeout
};

struct CheckpointConfig {
  std::string dir;                  // "" disables checkpoints
  int64_t every_steps = 0;          // 0: only at the end (if dir is set)
  int keep_last = 3;
  bool async = true;
  std::string resume = "auto";      // auto | none | PATH
  bool strict = false;              // corrupt checkpoint on resume: error, not fallback
  int peer_copies = 0;
  double staging_mb = 0;            // 0: as much as one snapshot needs
};

struct LaunchConfig {
  int np = 0;                       // 0: from hosts/nproc_per_node, else 1
  int nproc_per_node = 0;
  std::string nnodes;               // "N" or "MIN:MAX"
  std::string hosts;                // "h1:4,h2:4"
  std::string hostfile;
  std::vector<std::string> env;    // VAR or VAR=value, like mpirun -x
  int max_restarts = 0;
  std::string master_addr;
  int master_port = 0;              // 0: pick a free port
  double grace = 10.0;              // seconds between SIGTERM and SIGKILL
  double heartbeat_timeout = 60.0;  // seconds without progress before a rank is failed
  double rejoin_timeout = 30.0;
  bool tag_output = false;
  bool timestamp_output = false;
  std::string output_filename;
  bool oversubscribe = false;
  std::string map_by = "core";
  std::string bind_to = "none";
};

struct Config {
  ModelConfig model;
  DataConfig data;
  TrainConfig train;
  ParallelConfig parallel;
  CheckpointConfig checkpoint;
  LaunchConfig launch;
  std::string source_path;          // the file it came from ("" when built in code)

  // Derived after validation.
  int64_t tokens_per_step() const {
    return static_cast<int64_t>(train.global_batch) * model.seq_len;
  }
};

// Loads, overrides and validates. `overrides` are "section.key=value" strings.
Result<Config> LoadConfig(const std::string& path, const std::vector<std::string>& overrides = {});
// Same, from YAML text; `name` is used in messages in place of a file name.
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& name,
                           const std::vector<std::string>& overrides = {});
// Checks relations between values and derives global_batch / grad_accum.
// `world_size` is dp*tp*pp when 0.
Status ValidateConfig(Config& cfg);

// The whole config as YAML (every key, defaults included) — saved in checkpoints, printed
// at -v. Parsing it back gives an equal Config.
std::string ConfigToYaml(const Config& cfg);

// One line per key: "train.steps  int  100  number of optimizer steps".
std::string ConfigSchemaHelp();

// True if `s` looks like a config override ("a.b=value").
bool IsConfigOverride(const std::string& s);

}  // namespace ogai
