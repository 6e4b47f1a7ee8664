// train.yaml: the typed, validated job configuration (the worker's schema; ogai-run, above
// train/, reads it too).
//
// A train.yaml has up to six sections: model, data, train, parallel, checkpoint, launch.
// Each section's struct lives with the code that reads it (model/model_config.h,
// dataproc/data_config.h, optim/train_config.h, parallel/parallel_config.h; checkpoint and
// launch here). Every key is declared once in the schema table (config.cc) with its type,
// default and help text; the generic mechanism (core/config_schema.h) walks the YAML, rejects
// any key the table does not know (naming the key, the file and line, and the nearest valid
// key), checks each value's type and range; config.cc then checks the relations between
// values (heads divide d_model, ...).
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
#include "dataproc/data_config.h"
#include "model/model_config.h"
#include "optim/train_config.h"
#include "parallel/parallel_config.h"

namespace ogai {

struct CheckpointConfig {
  std::string dir;          // "" disables checkpoints
  int64_t every_steps = 0;  // 0: only at the end (if dir is set)
  int keep_last = 3;
  bool async = true;
  std::string resume = "auto";  // auto | none | PATH
  bool strict = false;          // corrupt checkpoint on resume: error, not fallback
  int peer_copies = 0;
  double staging_mb = 0;        // 0: as much as one snapshot needs
  double write_mb_per_s = 500;  // background writes at most this fast (0: as fast as the disk)
};

struct LaunchConfig {
  int np = 0;  // 0: from hosts/nproc_per_node, else 1
  int nproc_per_node = 0;
  std::string nnodes;  // "N" or "MIN:MAX"
  std::string hosts;   // "h1:4,h2:4"
  std::string hostfile;
  std::vector<std::string> env;  // VAR or VAR=value, like mpirun -x
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
  std::string source_path;  // the file it came from ("" when built in code)

  // Derived after validation.
  int64_t tokens_per_step() const { return static_cast<int64_t>(train.global_batch) * model.seq_len; }
};

// Loads, overrides and validates. `overrides` are "section.key=value" strings.
Result<Config> LoadConfig(const std::string& path, const std::vector<std::string>& overrides = {});
// Same, from YAML text; `name` is used in messages in place of a file name.
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& name,
                           const std::vector<std::string>& overrides = {});
// Checks relations between values and derives global_batch / grad_accum.
Status ValidateConfig(Config& cfg);

// The whole config as YAML (every key, defaults included) — saved in checkpoints, printed
// at -v. Parsing it back gives an equal Config.
std::string ConfigToYaml(const Config& cfg);

// One line per key: "train.steps  int  100  number of optimizer steps".
std::string ConfigSchemaHelp();

// True if `s` looks like a config override ("a.b=value").
bool IsConfigOverride(const std::string& s);

}  // namespace ogai
