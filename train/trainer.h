// The training loop of one rank: data, model shard, optimizer, and the communication of
// data, tensor and pipeline parallelism.
//
// Trainer::Create builds everything from a validated Config and the rank's DistContext
// (empty for a single process); Step() runs one optimizer step — every micro-batch (1F1B
// over pipeline stages), the DP gradient reduction overlapped with backward, the tied
// embedding's gradient sum across first and last stage, global-norm clipping, AdamW
// (ZeRO-1 sharded when parallel.zero = 1) — and returns its statistics; Run() loops to
// train.steps, printing the per-step line, a progress line and a summary on rank 0.
//
// The same seed, data and global batch give the same loss curve whatever the layout: each
// (step, micro-batch, DP rank) reads a fixed slice of the global batch, and the loss and
// its gradient are always the mean over all global_batch x seq_len tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "comm/device_mesh.h"
#include "comm/process_group.h"
#include "core/memory.h"
#include "core/status.h"
#include "dataproc/loader.h"
#include "model/gpt.h"
#include "optim/adamw.h"
#include "parallel/grad_reducer.h"
#include "parallel/layout.h"
#include "parallel/tp_comm.h"
#include "store/store.h"
#include "train/checkpointing.h"
#include "train/config.h"
#include "train/metrics.h"
#include "train/pipeline.h"

namespace ogai::train {

struct TrainerOptions {
  bool print = true;  // per-step lines, progress and summary (rank 0)
};

// What the rank is part of. All null / default for a single process.
struct DistContext {
  comm::ProcessGroup* world = nullptr;
  comm::DeviceMesh* mesh = nullptr;      // required when world->size() > 1
  comm::ProcessGroup* embed = nullptr;   // first+last stage of a pipeline (tied wte)
  std::shared_ptr<store::Store> store;   // the job's store (checkpoint commit votes)
  parallel::ParallelLayout layout;       // rank 0 of 1 by default
  std::function<void(int64_t)> on_step;  // progress heartbeat (the launcher's)
  // From the launcher's rank contract (launch::RankEnv), for restarts and peer copies.
  int restart_count = 0;  // OGAI_RESTART_COUNT
  int node_rank = 0;
  std::string shard_caches;  // OGAI_SHARD_CACHES ("" when none)
  std::string shard_dir;     // OGAI_SHARD_DIR: this node's copies (tmpfs)
  std::string store_token;
  // The job's store without the round prefix, under a launcher (null otherwise): where a
  // scheduler asks for "checkpoint now and stop" (key sched/preempt; docs/scheduler.md).
  std::shared_ptr<store::Store> control_store;
  // Wall-clock marks (ms since the epoch; 0 = unknown) written to the metrics file's start
  // record: the process's start and the moment it had joined the group.
  double started_unix_ms = 0;
  double joined_unix_ms = 0;
  // Where start-up time went (phase, milliseconds), in order; the trainer adds its own
  // phases and writes them all into the start record.
  std::vector<std::pair<std::string, double>> startup_ms;
};

class Trainer {
 public:
  static Result<std::unique_ptr<Trainer>> Create(const Config& cfg, DistContext ctx = {}, TrainerOptions opts = {});
  ~Trainer();

  // One optimizer step.
  Status Step(StepStats* stats);
  // Steps until train.steps; fills *summary.
  Status Run(RunSummary* summary);

  int64_t step() const { return step_; }
  // True once a scheduler's checkpoint request was served: the state is committed at step().
  bool stop_requested() const { return stop_requested_; }
  model::GPT& model() { return *model_; }
  optim::AdamW& optimizer() { return *opt_; }
  const Config& config() const { return cfg_; }
  const parallel::ParallelLayout& layout() const { return ctx_.layout; }
  bool is_rank0() const { return ctx_.layout.rank == 0; }
  Checkpointing& checkpointing() { return *ckpt_; }
  // Turns the overlap of DP reductions with backward on or off (parallel.overlap at start).
  void SetOverlap(bool on) {
    if (reducer_) reducer_->set_overlap(on);
  }
  // Switches train.recompute between steps (benchmarks; pp = 1 only). Each mode's activations
  // are made on its first switch and kept, so no step allocates them; returns the bytes of
  // the now current mode's activations (counted when they were made).
  Result<int64_t> SwitchRecompute(model::Recompute r);

 private:
  Trainer() = default;
  Status SetUp();
  void OnGradReady(int param);
  bool ZeroSharded() const { return reducer_ != nullptr && cfg_.parallel.zero == 1; }
  Status RunMicroBatches(double* loss_sum, double* pp_wait);
  void LoadMicro(int micro, int32_t* inputs, int32_t* targets);
  // Before each micro-batch's backward: the last one arms the DP reduction and the tied
  // embedding's gradient sum (OnGradReady).
  void BeforeBackward(int micro);
  double LocalGradSumSquares() const;
  void WriteMetrics(const StepStats& s);
  Status OpenMetrics();
  Status EnablePeerCopies();
  // The validation loss now (train.eval_every); printed on rank 0 and written to the metrics file.
  Status Evaluate(RunSummary* sum);

  Config cfg_;
  DistContext ctx_;
  TrainerOptions opts_;
  std::unique_ptr<data::DataLoader> loader_;
  std::unique_ptr<data::DataLoader> val_loader_;  // train.eval_every > 0
  std::vector<int32_t> val_token_bytes_;          // the dataset tokenizer's bytes per token id
  std::string dataset_id_;                        // data.source: dataset
  std::unique_ptr<model::GPT> model_;
  std::unique_ptr<optim::AdamW> opt_;
  std::unique_ptr<ckpt::Committer> committer_;
  std::unique_ptr<Checkpointing> ckpt_;
  std::unique_ptr<parallel::GroupTensorParallelComm> tp_comm_;
  std::unique_ptr<parallel::GradReducer> reducer_;
  // pp = 1: one micro-batch at a time.
  model::ActivationsPtr acts_;
  // SwitchRecompute: the other modes' activations, and each mode's bytes (by Recompute value).
  model::ActivationsPtr parked_acts_[3];
  int64_t act_bytes_[3] = {0, 0, 0};
  std::vector<int32_t> inputs_, targets_;
  std::unique_ptr<Pipeline> pipeline_;  // pp > 1
  // Tied embedding.
  int wte_ = -1;
  comm::WorkPtr embed_work_;
  // Data parallelism with pp = 1: the tied embedding's dense gradient (the head's) is
  // reduced during backward, and the token lookup's sparse part (tokens and rows of the last
  // micro-batch) is all-gathered over DP and added on every rank, in rank order, after the
  // reduction (GPT::EmbeddingGradSink).
  bool early_wte_ = false;
  Buffer embed_send_, embed_recv_;  // per rank: n tokens (int32 bits), then n x d_model rows
  int64_t embed_n_ = 0;
  comm::WorkPtr embed_gather_;
  void TakeEmbeddingGrad(const int32_t* tokens, const float* rows, int64_t n);
  Status AddGatheredEmbeddingGrad();
  bool last_micro_ = false;
  // Gradient-norm ownership: the flat ranges this rank counts.
  std::vector<std::pair<int64_t, int64_t>> norm_ranges_;
  int64_t step_ = 0;             // completed optimizer steps
  bool stop_requested_ = false;  // a scheduler asked for a checkpoint and a stop: saved, Run ends
  double flops_per_token_ = 0;
  std::unique_ptr<MetricsFile> metrics_;  // train.metrics_file ("" : none)
};

}  // namespace ogai::train
