// Reads a run's metrics file (train.metrics_file, docs/recovery.md "Metrics under restarts")
// for ogai-report: step records, the start record of each round, checkpoint commits,
// validation losses, the resolved config and the hardware.
//
// The reader is lenient where a running job makes it so: a last line still being written,
// or any line that is not a JSON object, is skipped and counted (the report says how many).
// Records it does not know are ignored, so newer writers stay readable.
//
// Validation losses are read from whichever of these a line holds (docs/dashboard.md): a
// top-level "val_loss", "valid_loss", "validation_loss" or "eval_loss" next to "step"; or an
// object under "eval", "val", "valid" or "validation" holding "step" and one of those names
// or "loss". The object that holds the loss may hold "bits_per_byte" too (the trainer's eval
// records do: null when the bytes were not measured).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace ogai::web {

struct StepPoint {
  int64_t step = 0;
  double loss = 0, lr = 0, grad_norm = 0, ms = 0;
  double dp_exposed_ms = 0, dp_exposed_min_ms = 0, pp_wait_ms = 0;
  int restart = 0;
  double unix_ms = 0;
};

struct ValPoint {
  int64_t step = 0;
  double loss = 0;
  double bits_per_byte = NAN;  // NaN: the record has none (or null)
};

struct RoundStart {
  int restart = 0, world = 0, dp = 0, tp = 0, pp = 0, grad_accum = 0, global_batch = 0;
  int64_t resume_step = 0;
  std::string source;  // none, disk, peer, mixed
  double load_ms = 0, started_unix_ms = 0, ready_unix_ms = 0;
};

struct CheckpointCommit {
  int64_t step = 0;
  std::string path;
  int restart = 0;
  double unix_ms = 0;
};

struct RunData {
  std::string path;
  std::vector<StepPoint> lines;  // every step line in file order (redone steps included)
  std::vector<StepPoint> steps;  // per step the last line (the one that counts), by step
  std::vector<ValPoint> val;     // by step, the last value of each step
  std::vector<RoundStart> rounds;
  std::vector<CheckpointCommit> checkpoints;
  std::string config_yaml;                                    // the latest round's; "" if none
  std::vector<std::pair<std::string, std::string>> hardware;  // (name, value) for display
  bool finished = false;        // the run's end record (memory) follows the last round's start
  int64_t train_steps = 0;      // train.steps from the config (0: unknown)
  int64_t tokens_per_step = 0;  // global_batch x model.seq_len (0: unknown)
  int skipped_lines = 0;
  int first_skipped_line = 0;  // 1-based
};

// RUN_DIR_OR_METRICS: a metrics file, or a folder holding exactly one run's metrics file
// (a *.jsonl whose first record is rank 0's start record). Errors say what to pass instead.
Result<std::string> FindMetricsFile(const std::string& run_dir_or_metrics);

// The whole file at once (a last line without its newline is read too).
Result<RunData> ReadMetrics(const std::string& path);

// Follows a metrics file while it grows (the dashboard polls a running job's file): each
// Update() reads only the bytes appended since the last one and adds its complete lines (a
// line still being written waits for the next call). A file replaced or cut short since is
// read again from its start.
class MetricsFollower {
 public:
  explicit MetricsFollower(std::string path);
  Status Update();  // NotFound when the file cannot be read
  void Finish();    // adds a last line that has no newline
  const RunData& data() const { return run_; }
  int64_t bytes_read() const { return offset_; }

 private:
  void Reset();
  void AddLine(const std::string& line);
  std::string path_;
  RunData run_;
  int64_t offset_ = 0;
  uint64_t inode_ = 0;
  int line_no_ = 0;
  std::string partial_;
};

}  // namespace ogai::web
