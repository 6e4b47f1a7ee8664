// CheckpointWriter: one rank's side of an asynchronous sharded checkpoint.
//
//   auto w = CheckpointWriter::Create({.dir = "ckpt", .keep_last = 3});
//   w->Save(slices, meta);   // returns at once (async); a background thread copies the
//   ...                      // slices into host staging, then streams them to disk
//   w->WaitCaptured();       // before the caller modifies the slices' memory (the next
//                            // optimizer step): usually already true
//   w->Wait();               // the save is committed (or its error)
//
// Save. The caller lists the tensor slices THIS rank writes (ckpt/region.h); with data
// parallelism it lists a disjoint part of the replicated state, so that every element of
// every tensor is written by exactly one rank (the commit checks that). The writer copies
// them into a staging buffer of checkpoint.staging_mb (0: one snapshot) and, on its own
// thread, writes them to DIR/step_NNNNNNNN/rank_RRRRR.shard in chunks, each with a CRC-32C,
// then fsyncs the file and the directory (the file itself: ckpt/shard_file.h). When the staging buffer is smaller than
// the snapshot, the copy proceeds as the writes free space, and WaitCaptured() waits for it.
//
// Cost to training. The copy into staging is the one part the loop may wait for, so it runs
// at the writer thread's normal priority. With staging for the whole snapshot, the staging
// buffer is laid out as the shard file's image (page-aligned, header first) and the
// file is written with O_DIRECT straight from that image: no second copy into the page cache,
// no writeback, nothing for the kernel to do on the training loop's cores but the DMA
// (ckpt/direct_file.h; file systems without O_DIRECT get buffered writes of the same bytes).
// With low_priority, the rest of the save then moves to a lower-priority thread.
//
// Commit. The rank votes through the Committer; rank 0 merges every rank's index into the
// manifest, checks that every tensor is covered exactly once, publishes manifest.pb (temp,
// fsync, rename, fsync dir), then moves DIR/latest the same way, then applies retention:
// committed checkpoints older than this one beyond keep_last are removed (manifest first),
// and so are unfinished ones older than this one. Checkpoints with a higher step (from a
// run that was resumed from an older checkpoint) are left alone. A crash at any moment
// leaves the previous committed checkpoint and `latest` intact.
//
// One save at a time: a Save() while the previous one is still running logs a warning and
// waits for it. An error of a background save is returned by the next Save() or Wait().
//
// Thread safety: one caller thread; the writer's own thread is internal.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/committer.h"
#include "ckpt/low_priority_thread.h"
#include "ckpt/region.h"
#include "ckpt/shard_file.h"  // ConstSlice
#include "core/memory.h"
#include "core/status.h"
#include "proto/ckpt.pb.h"

namespace ogai::ckpt {

// What a checkpoint records besides tensors.
struct SaveMeta {
  int64_t step = 0;
  uint64_t seed = 0;
  int64_t global_batch = 0;
  pb::Layout layout;
  std::string config_yaml;
  std::string dataset_id;  // data.source: dataset: the dataset's id (dataproc/dataset.h)
  int64_t opt_begin = 0;   // this rank's optimizer range in its flat buffer
  int64_t opt_end = 0;
};

struct WriterOptions {
  std::string dir;                // checkpoint root (created if missing)
  int keep_last = 3;              // committed checkpoints to keep (>= 1)
  bool async = true;              // false: Save() returns when committed, no staging
  int64_t staging_bytes = 0;      // host staging bound; 0: one snapshot's size
  int64_t chunk_bytes = 4 << 20;  // bytes per checksummed chunk
  // Write shard files with O_DIRECT where the file system allows it (ckpt/direct_file.h):
  // no page-cache copy and writeback competing with training for the CPUs. Same bytes.
  bool direct_io = true;
  // Async saves write at most this many bytes per second (0: unpaced): the disk's DMA reads of
  // staging then compete less with the training steps for memory bandwidth, spread over more
  // of them. Synchronous saves are never paced, nor is a save once someone Wait()s for it
  // (the last step's, a preemption's).
  double max_write_bytes_per_s = 0;
  // Async saves: once the snapshot is copied, write and commit on a thread at nice 10 and the
  // lowest best-effort I/O level (ckpt/low_priority_thread.h). Off by default: on a busy
  // machine that thread is starved and the save (and the next one, which waits) drags on.
  bool low_priority = false;
  Committer* committer = nullptr;  // not owned; null: this is a one-rank job
  // Called after each committed save, on the thread that ran it (the writer's own thread when
  // async), with the step and the path of this rank's shard file ("" when it wrote none).
  // Peer copies (ckpt/peer_copy.h) start here; the next save waits until it returns.
  std::function<void(int64_t step, const std::string& shard_path)> on_committed;
};

// Timings of one save (seconds).
struct SaveStats {
  int64_t step = 0;
  int64_t bytes = 0;           // this rank's shard file
  int64_t direct_bytes = 0;    // of those, written with O_DIRECT
  double wait_previous_s = 0;  // Save() waited for the previous save to finish
  double capture_s = 0;        // Save() until the caller's memory was no longer needed
  double write_s = 0;          // first byte written until fdatasync returned
  double commit_s = 0;         // vote, manifest, latest, retention (total_s has the rest)
  double total_s = 0;          // Save() until committed
  double cpu_s = 0;            // CPU time of the thread that ran the save (copy, CRC, writes, commit)
  bool staged = false;         // SaveStaged: the caller wrote the snapshot (no copy by the writer)
};

class CheckpointWriter {
 public:
  static Result<std::unique_ptr<CheckpointWriter>> Create(const WriterOptions& opts);
  // Waits for a save in flight (and logs its error, if any).
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Allocates the staging buffer for snapshots of `snapshot_bytes` now (at start-up) rather
  // than on the first save, when the training loop may be waiting for the copy.
  void Reserve(int64_t snapshot_bytes);
  Status Save(std::vector<ConstSlice> slices, const SaveMeta& meta);
  // A save whose snapshot the caller writes into staging itself, checksums included (the
  // optimizer, in the pass that updates the state: train/checkpointing.h), so that no thread
  // copies and checksums the whole state while training runs. Stage(slices) plans the shard
  // as Save would and returns, per slice, where its bytes go and where the CRC-32C of each of
  // its chunks of chunk_bytes goes; empty when a save cannot be staged that way now (a
  // synchronous writer, a save still being written, or staging smaller than the snapshot:
  // then use Save). Once the caller has written all of it, SaveStaged saves them (the same
  // slices, in the same order); the training loop has nothing to wait for.
  struct StagedSlice {
    uint8_t* data;
    uint32_t* chunk_crc;
    int64_t chunk_bytes;
  };
  std::vector<StagedSlice> Stage(const std::vector<ConstSlice>& slices);
  Status SaveStaged(std::vector<ConstSlice> slices, const SaveMeta& meta);
  Status WaitCaptured();
  Status Wait();
  bool busy() const;
  // One entry per finished save, oldest first (the last 1000).
  std::vector<SaveStats> stats() const;
  const WriterOptions& options() const { return opts_; }

 private:
  struct Job {
    std::vector<ConstSlice> slices;
    SaveMeta meta;
    double t_start = 0;
    SaveStats stats;
    bool prefilled = false;                        // SaveStaged: the caller wrote the snapshot into staging
    std::vector<std::vector<uint32_t>> chunk_crc;  // and these checksums, per slice and chunk
  };
  Status Enqueue(Job job);
  explicit CheckpointWriter(const WriterOptions& opts);
  void ThreadMain();
  Status RunJob(Job& job, bool staged);
  struct Staging;  // the ring a staged save copies into and writes from (writer.cc)
  Status FinishJob(Job& job, bool staged, Staging& staging, ShardLayout& layout, pb::ShardIndex& index, Status local);
  class DirectChunks;
  class StagedChunks;
  Status PrepareStepDir(int64_t step, std::string* step_dir);
  Status PlanShard(const Job& job, bool staged, pb::ShardIndex* index, ShardLayout* layout, Staging* staging);
  Status FillStaging(Job& job, const ShardLayout& layout, Staging& staging);
  Status WriteShard(Job& job, ShardLayout& layout, bool staged, Staging& staging, const std::string& step_dir);
  Status CommitAsLeader(const Job& job, const std::vector<pb::ShardIndex>& votes, const std::string& step_dir);
  Status Retain(int64_t step);
  void MarkCaptured(Job& job);
  int64_t StagingBytesFor(int64_t snapshot_bytes) const;
  // The chunk size of a staged save with a ring of ring_bytes (a chunk must fit in the ring).
  int64_t StagedChunkBytes(int64_t ring_bytes) const;
  void EnsureStaging(int64_t ring_bytes);
  uint8_t* StagingImage();

  WriterOptions opts_;
  LocalCommitter local_committer_;
  Committer* committer_;
  Buffer staging_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Job> pending_;
  bool busy_ = false;
  bool captured_ = true;
  bool stop_ = false;
  int64_t busy_step_ = -1;
  Status last_status_;
  std::vector<std::pair<const void*, int64_t>> staged_;  // what Stage planned: each slice's data, bytes
  std::vector<std::vector<uint32_t>> staged_crc_;        // and where the caller puts the checksums
  std::vector<SaveStats> stats_;
  std::thread thread_;
  std::unique_ptr<LowPriorityThread> low_priority_;
  std::atomic<bool> hurry_{
      false};  // Wait() was called: stop pacing the save in flight  // async with opts_.low_priority
};

}  // namespace ogai::ckpt
