// The training loop of one rank: data, model shard, optimizer, step logging.
//
// Trainer::Create builds everything from a validated Config; Step() runs one optimizer step
// (all micro-batches, gradient reduction, clipping, AdamW) and returns its statistics; Run()
// loops to train.steps, printing the per-step line, a progress line and a summary on rank 0.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataproc/loader.h"
#include "runtime/core/config.h"
#include "runtime/core/status.h"
#include "runtime/model/gpt.h"
#include "runtime/optim/adamw.h"
#include "runtime/train/checkpointing.h"

namespace ogai::train {

struct StepStats {
  int64_t step = 0;          // 1-based: the step just completed
  double loss = 0;           // mean token loss over the global batch
  double lr = 0;
  double grad_norm = 0;      // before clipping
  double seconds = 0;        // wall time of the step
  double tokens_per_s = 0;   // global tokens / seconds
  double model_flops_per_s = 0;
};

struct RunSummary {
  int64_t steps = 0;
  double first_loss = 0;
  double last_loss = 0;
  double seconds = 0;
  std::vector<StepStats> history;
};

struct TrainerOptions {
  bool print = true;         // per-step lines, progress and summary (rank 0)
};

class Trainer {
 public:
  static Result<std::unique_ptr<Trainer>> Create(const Config& cfg, TrainerOptions opts = {});
  ~Trainer();

  // One optimizer step.
  Status Step(StepStats* stats);
  // Steps until train.steps; fills *summary.
  Status Run(RunSummary* summary);

  int64_t step() const { return step_; }
  model::GPT& model() { return *model_; }
  const Config& config() const { return cfg_; }
  Checkpointing& checkpointing() { return *ckpt_; }

 private:
  Trainer() = default;
  void PrintStep(const StepStats& s) const;

  Config cfg_;
  TrainerOptions opts_;
  std::unique_ptr<data::DataLoader> loader_;
  std::unique_ptr<model::GPT> model_;
  std::unique_ptr<optim::AdamW> opt_;
  model::ActivationsPtr acts_;
  std::vector<int32_t> inputs_, targets_;
  int64_t step_ = 0;  // completed optimizer steps
  double flops_per_token_ = 0;
  FILE* metrics_ = nullptr;
  std::unique_ptr<Checkpointing> ckpt_;  // checkpoint.* (runtime/train/checkpointing.h)
};

}  // namespace ogai::train
