// Checkpointing: what the training loop calls to save and resume (ckpt/ does the work).
//
// The trainer calls it at three places:
//   1. Trainer::Create:  Resume()               -> the step to continue from
//   2. Trainer::Step:    BeforeOptimizerStep(s) -> before parameters and moments change
//   3. Trainer::Step:    AfterStep(step)        -> saves when checkpoint.every_steps says so,
//                                                  and at train.steps (then waits for commit)
// When step s ends in a save (async, the writer idle; with or without ZeRO-1),
// point 2 returns where the optimizer also writes the state it computes: host staging, in
// the shard file's layout (CheckpointWriter::Stage). The snapshot then costs the optimizer
// pass some stores, and no thread copies the whole state while training runs; point 3 hands
// it to the writer (checksums, writes, commit in the background). Otherwise point 3 starts
// a save that copies the state into staging on the writer's thread while the next step's
// forward and backward run (they only read parameters and never touch the moments), and
// point 2 of the next step waits if that copy is not done (the fence).
//
// The state of a rank: its parameters and its AdamW moments (tensors "NAME", "adamw.m.NAME",
// "adamw.v.NAME"), plus the step (AdamW's bias correction and the LR schedule), train.seed,
// the global batch (the loader is stateless: step * global_batch samples are consumed), the
// whole config and the layout. Resuming checks seed and global batch against the config.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ckpt/committer.h"
#include "ckpt/peer_copy.h"
#include "ckpt/reader.h"
#include "ckpt/writer.h"
#include "core/status.h"
#include "model/gpt.h"
#include "optim/adamw.h"
#include "train/config.h"

namespace ogai::train {

// Where this rank sits, for the write plan (the model knows its TP rank and stage).
struct CheckpointRole {
  int rank = 0;
  int world_size = 1;
  int dp_rank = 0;
  int dp_size = 1;
};

// The slices this rank writes so that, over all ranks, every element of every tensor is
// written exactly once:
//   * a TP-sharded tensor: each TP rank its slice; a replicated one: TP rank 0;
//   * the tied copy of wte on the last pipeline stage is not written (the first stage's is);
//   * without ZeRO, state replicated over data parallelism is split over the dp ranks by
//     flat range of each tensor (parameters and moments alike);
//   * under ZeRO-1 (the optimizer covers part of the flat buffer, or `zero_sharded`) each
//     rank writes, of parameters and moments alike, exactly the elements its optimizer
//     updates (its chunks of the gradient buckets), so the optimizer can stage what it writes.
// Per tensor piece the plan holds the parameters, then adamw.m, then adamw.v of the same
// elements (BeforeOptimizerStep relies on it).
std::vector<ckpt::ConstSlice> CheckpointWritePlan(const model::GPT& model, const optim::AdamW& opt,
                                                  const CheckpointRole& role, bool zero_sharded = false);
// The part of a parameter's global tensor this rank holds (its TP box).
ckpt::Region SpecRegion(const model::ParamSpec& p);

// The slices this rank loads: every parameter it holds (both copies of a tied wte) and the
// moments of its optimizer range.
std::vector<ckpt::ReadSlice> CheckpointReadPlan(model::GPT& model, optim::AdamW& opt);

// How the run started: which checkpoint, from where, how long it took.
struct ResumeInfo {
  int64_t step = 0;          // 0 when the run started fresh
  std::string path;          // the checkpoint loaded ("" when none)
  double load_s = 0;         // opening, fetching peer copies and reading, on this rank
  int files = 0;             // shard files this rank read from
  int files_from_peers = 0;  // of which in-memory peer copies
  int64_t bytes_from_peers = 0;
  // The run that saved it: its layout and its train.steps (the LR schedule's length; 0 when
  // the saved config does not say).
  int saved_dp = 0, saved_tp = 0, saved_pp = 0;
  int64_t saved_steps = 0;
  // "none", "disk", "peer" (every file from peer memory) or "mixed".
  std::string Source() const;
};

// The latest peer copy this rank pushed (step 0: none yet).
struct PeerCopyInfo {
  int64_t step = 0;
  int64_t bytes = 0;
  int places = 0;  // this node's folder and the caches that hold it
  double seconds = 0;
};

// The latest checkpoint this rank saw committed (step 0: none yet in this process).
struct CommitInfo {
  int64_t step = 0;
  std::string path;  // the checkpoint's folder (checkpoint.dir/step_N)
  double unix_ms = 0;
};

class Checkpointing {
 public:
  // `committer` (not owned) is how ranks agree on a commit; null for a one-rank job.
  static Result<std::unique_ptr<Checkpointing>> Create(const Config& cfg, model::GPT* model, optim::AdamW* opt,
                                                       const CheckpointRole& role = {},
                                                       ckpt::Committer* committer = nullptr);
  // Waits for a save in flight.
  ~Checkpointing();

  // checkpoint.resume: none -> 0; auto -> the newest committed checkpoint in checkpoint.dir,
  // falling back to older ones with a warning when one is damaged (checkpoint.strict: an
  // error instead); PATH -> that checkpoint. Returns the completed steps it holds.
  Result<int64_t> Resume();
  // Multi-rank jobs: given this rank's outcome of loading a candidate, returns whether every
  // rank succeeded (a collective). Resume then moves to the next candidate together.
  void set_agreement(std::function<Result<bool>(bool)> all_ok) { agree_ = std::move(all_ok); }
  // Recorded in every checkpoint's manifest (data.source: dataset).
  void set_dataset_id(std::string id) { dataset_id_ = std::move(id); }
  // `step`: the step this optimizer update completes. Returns the targets for
  // optim::AdamW::Step when that step ends in a save that can be staged, else nullptr.
  Result<const std::vector<optim::SnapshotTarget>*> BeforeOptimizerStep(int64_t step);
  Status AfterStep(int64_t step);
  // Whether AfterStep(step) saves (checkpoint.every_steps, the last step, or RequestSave).
  bool SaveDue(int64_t step) const;
  // Makes AfterStep(step) save too (benchmarks: a save taken the way training takes them).
  void RequestSave(int64_t step) { requested_step_ = step; }

  // Starts a save of the current state as `step` now (what AfterStep does when one is due);
  // async: the copy proceeds while the caller goes on, BeforeOptimizerStep fences it.
  Status SaveNow(int64_t step);
  // Saves `step` unless the last save was of it, and waits until it is committed (a
  // scheduler's preemption: nothing done after it is lost).
  Status SaveAndWait(int64_t step);
  // Loads one checkpoint (any layout; every chunk read is checked). Sets *step.
  Status Load(const std::string& path, int64_t* step);
  // Saves the current state as `step` into `dir` ("" = checkpoint.dir) with a fresh
  // synchronous writer (benchmarks, tools); returns its timings once committed.
  Result<ckpt::SaveStats> SaveSync(int64_t step, const std::string& dir = "");

  // The slices this rank writes now (CheckpointWritePlan of its model and optimizer).
  std::vector<ckpt::ConstSlice> WritePlan() const;
  // checkpoint.peer_copies: after each commit, push this rank's shard to `peers`; on resume,
  // read what they hold instead of the files. Call before Resume() and before any save.
  void EnablePeerCopies(std::unique_ptr<ckpt::PeerCopies> peers) { peers_ = std::move(peers); }
  bool peer_copies_enabled() const { return peers_ != nullptr; }
  const ResumeInfo& resume_info() const { return resume_; }
  // The train.init_from recorded in the checkpoints this run writes (the resolved reference).
  void set_init_from(const std::string& resolved) { cfg_.train.init_from = resolved; }
  // The latest completed push (thread-safe: the writer's thread updates it).
  PeerCopyInfo last_peer_copy() const;
  // The latest commit of a save of this process (thread-safe, like last_peer_copy).
  CommitInfo last_commit() const;
  // Every commit since the last call, oldest first (thread-safe): what the metrics file
  // records. Two saves can commit between two steps (the last step waits for every save in
  // flight), and each commit gets its line.
  std::vector<CommitInfo> TakeCommits();

  // Time the training loop waited for each async save so far (Save call + optimizer fence).
  const std::vector<double>& stalls() const { return stalls_; }
  ckpt::CheckpointWriter* writer() { return writer_.get(); }

 private:
  Checkpointing() = default;
  ckpt::SaveMeta Meta(int64_t step) const;
  void OnCommitted(int64_t step, const std::string& shard_path);

  Config cfg_;
  model::GPT* model_ = nullptr;
  optim::AdamW* opt_ = nullptr;
  CheckpointRole role_;
  ckpt::Committer* committer_ = nullptr;
  std::unique_ptr<ckpt::CheckpointWriter> writer_;
  std::vector<double> stalls_;
  bool fence_pending_ = false;
  int64_t last_saved_step_ = -1;
  int64_t requested_step_ = -1;
  int64_t staged_step_ = -1;                   // BeforeOptimizerStep staged this step's save
  std::vector<ckpt::ConstSlice> staged_plan_;  // its slices
  std::vector<optim::SnapshotTarget> snapshot_targets_;
  std::function<Result<bool>(bool)> agree_;
  std::string dataset_id_;
  int64_t chunk_bytes_ = 4 << 20;
  std::unique_ptr<ckpt::PeerCopies> peers_;
  ResumeInfo resume_;
  mutable std::mutex peer_mu_;
  PeerCopyInfo peer_copy_;
  CommitInfo commit_;
  std::vector<CommitInfo> unreported_;  // commits TakeCommits has not handed out yet
};

}  // namespace ogai::train
