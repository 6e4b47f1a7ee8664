// What a run reports: the statistics of each step, rank 0's console lines (the step line,
// the progress line between step lines, the summary) and the JSON metrics file
// (train.metrics_file).
//
// The metrics file has one JSON object per line. The first start of a job (restart 0)
// creates it; a restarted group (OGAI_RESTART_COUNT > 0) appends, so the file keeps every
// round. Each round begins with a "start" record (where it resumed, from what, how long it
// took); every line carries the restart count, and the steps a round redoes after resuming
// appear again: for each step, the last line is the one that counts (docs/recovery.md).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/memory.h"
#include "core/status.h"
#include "parallel/layout.h"
#include "train/checkpointing.h"
#include "train/hardware.h"

namespace ogai::train {

struct EvalResult;  // train/evaluate.h

struct StepStats {
  int64_t step = 0;  // 1-based: the step just completed
  double loss = 0;   // mean token loss over the global batch
  double lr = 0;
  double grad_norm = 0;     // before clipping
  double seconds = 0;       // wall time of the step (this rank)
  double tokens_per_s = 0;  // global tokens / seconds
  double model_flops_per_s = 0;
  // Communication, averaged over the ranks of the job.
  double dp_exposed_s = 0;  // waiting for DP reductions after backward
  // The same wait on the rank that waited least: the reduction time that backward did not
  // hide, without the time the ranks that finished backward early spent waiting for the
  // slowest one (load imbalance, which shows as dp_exposed_s - dp_exposed_min_s).
  double dp_exposed_min_s = 0;
  double pp_wait_s = 0;  // waiting for pipeline activations/gradients
};

struct RunSummary {
  int64_t steps = 0;
  double first_loss = 0;
  double last_loss = 0;
  double seconds = 0;
  // Validation loss (train.eval_every): (step, loss) in order; the first is before training.
  std::vector<std::pair<int64_t, double>> evals;
  std::vector<StepStats> history;
  // Where the run's results are, for the summary's last line.
  bool checkpointing = false;  // checkpoint.dir is set
  CommitInfo last_checkpoint;  // the newest committed checkpoint (step 0: none)
  std::string metrics_file;    // "" when train.metrics_file is not set
};

// "1.23 Ktok/s": v scaled to at most three digits before the point, with an SI prefix.
std::string HumanRate(double v, const char* unit);

// Rank 0's console output while Trainer::Run loops: the step line every train.log_every
// steps (and at the first and the last), a progress line when ten seconds passed without
// one, and the summary at the end.
class ConsoleReport {
 public:
  // `steps` is train.steps (the width of the step counter), `total` the steps this run
  // goes to (train.stop_after may end it earlier), `first` the step it resumed at (0 when
  // fresh), `start` the run's start (Now()).
  ConsoleReport(int64_t steps, int64_t total, int64_t first, int64_t log_every, double start);
  void OnStep(const StepStats& s, double now);
  void Summary(const RunSummary& sum) const;

 private:
  int64_t steps_, total_, first_, log_every_;
  double start_, last_line_;
};

// "4.2s", "12m05s", "3h07m": a duration for the console.
std::string HumanDuration(double seconds);

// The "step ..." line of one step; with elapsed >= 0 it ends with the time since the run
// started and an estimate of the time left ("| 2.1s elapsed, eta 5.3s").
std::string StepLine(const StepStats& s, int64_t steps, double elapsed = -1, double eta = -1);

// The summary's last line: the newest committed checkpoint and the metrics file.
std::string ResultsLine(const RunSummary& sum);

// Rank 0's line on resuming: which checkpoint, its step, the layout it was saved at and
// whether it was resharded to `now`.
std::string ResumeLine(const ResumeInfo& r, const parallel::ParallelLayout& now);
// A warning when the saved run's train.steps (the LR schedule's length) differs from
// `steps`; "" when they agree or the saved length is unknown.
std::string ScheduleWarning(const ResumeInfo& r, int64_t steps);

// The mean step time and the memory peaks, to the log (every rank).
void LogRunEnd(const RunSummary& sum);

// The start record: who this rank is and how the round began.
struct StartRecord {
  int restart = 0;
  parallel::ParallelLayout layout;
  int grad_accum = 0;
  int global_batch = 0;
  int64_t resume_step = 0;
  ResumeInfo resume;
  double started_unix_ms = 0;
  double joined_unix_ms = 0;
  std::vector<std::pair<std::string, double>> startup_ms;  // (phase, milliseconds) in order
};

class MetricsFile {
 public:
  // `pattern` is train.metrics_file; "{rank}" in it becomes the rank. Truncates on the first
  // start of a job, appends on a restart.
  static Result<std::unique_ptr<MetricsFile>> Open(const std::string& pattern, int rank, int restart);
  // Whether `rank` writes a file for `pattern`: every rank when it holds "{rank}" (a file
  // each), else rank 0 alone (its records carry the job-wide figures), so that ranks never
  // write one file together.
  static bool WrittenBy(const std::string& pattern, int rank);
  ~MetricsFile();
  MetricsFile(const MetricsFile&) = delete;
  MetricsFile& operator=(const MetricsFile&) = delete;

  const std::string& path() const { return path_; }
  void WriteStart(const StartRecord& r);
  void WriteStep(const StepStats& s);
  // {"eval": {...}}: the validation loss after `step` steps over `tokens` tokens.
  void WriteEval(int64_t step, const EvalResult& r);
  // A peer-copy record when `pc` is newer than the last one written.
  void WritePeerCopy(const PeerCopyInfo& pc);
  // A checkpoint record when `c` is newer than the last one written: the commit of a save,
  // its step, folder and wall clock (ogai-report marks them on the time axis).
  void WriteCheckpoint(const CommitInfo& c);
  // The round's "config" record (the resolved config as YAML text) and "hardware" record
  // (the machine of the rank that writes this file).
  void WriteRunInfo(const std::string& config_yaml, const HardwareInfo& hw);
  // The memory record at the end of a run: the bytes of the transformer blocks' parameters
  // held here and the peak of each memory category.
  void WriteMemory(int64_t block_parameter_bytes, const MemStats& m);

 private:
  MetricsFile(FILE* f, std::string path, int restart) : f_(f), path_(std::move(path)), restart_(restart) {}
  FILE* f_;
  std::string path_;
  int restart_;
  int64_t peer_copy_reported_ = 0;  // the last peer-copied step written
  int64_t commit_reported_ = 0;     // the last committed step written
};

}  // namespace ogai::train
