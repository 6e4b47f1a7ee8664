#include "ckpt/writer.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "ckpt/direct_file.h"
#include "ckpt/format.h"
#include "ckpt/low_priority_thread.h"
#include "ckpt/shard_file.h"
#include "ckpt/staging_ring.h"
#include "core/build_info.h"
#include "core/clock.h"
#include "core/crc32c.h"
#include "core/log.h"

namespace ogai::ckpt {
struct CheckpointWriter::Staging {
  std::unique_ptr<Ring> ring;  // staged saves only
  uint8_t* image = nullptr;    // the ring holds the whole snapshot as the file's image (shard_file.h)
  size_t next = 0;             // first chunk not yet copied into the ring
  bool captured = false;       // the caller's memory is no longer needed
};

// An unstaged save writes the chunks straight from the caller's memory.
class CheckpointWriter::DirectChunks final : public ChunkSource {
 public:
  DirectChunks(const Job& job, const ShardLayout& layout) : job_(job), layout_(layout) {}
  size_t available() const override { return layout_.chunks.size() - next_; }
  const ChunkRef& ref(size_t k) const override { return layout_.chunks[next_ + k]; }
  const uint8_t* data(size_t k) const override {
    const ChunkRef& c = ref(k);
    return reinterpret_cast<const uint8_t*>(job_.slices[c.slice].data) + c.offset;
  }
  void Consumed(size_t n) override { next_ += n; }

 private:
  const Job& job_;
  const ShardLayout& layout_;
  size_t next_ = 0;
};

// A staged save writes the ring's oldest chunks and refills it as they go; with a ring as
// large as the snapshot everything was copied (captured) before the first write.
class CheckpointWriter::StagedChunks final : public ChunkSource {
 public:
  StagedChunks(CheckpointWriter& w, Job& job, const ShardLayout& layout, Staging& staging)
      : w_(w), job_(job), layout_(layout), staging_(staging), ring_(*staging.ring) {}
  size_t available() const override { return ring_.size(); }
  const ChunkRef& ref(size_t k) const override { return ring_.Ref(k); }
  const uint8_t* data(size_t k) const override { return ring_.Data(k); }
  bool crc32c(size_t k, uint32_t* crc) const override {
    *crc = ring_.Crc(k);
    return true;
  }
  uint8_t* file_image() override { return staging_.image; }
  void Consumed(size_t n) override {
    ring_.Pop(n);
    (void)w_.FillStaging(job_, layout_, staging_);  // a prefilled ring is full from the start
  }

 private:
  CheckpointWriter& w_;
  Job& job_;
  const ShardLayout& layout_;
  Staging& staging_;
  Ring& ring_;
};

CheckpointWriter::CheckpointWriter(const WriterOptions& opts) : opts_(opts) {
  committer_ = opts_.committer != nullptr ? opts_.committer : &local_committer_;
}

Result<std::unique_ptr<CheckpointWriter>> CheckpointWriter::Create(const WriterOptions& opts) {
  if (opts.dir.empty()) return InvalidArgument("checkpoint.dir is empty: set it to a directory to save checkpoints");
  if (opts.keep_last < 1) return InvalidArgument("checkpoint.keep_last must be at least 1");
  if (opts.chunk_bytes < 4096 || opts.chunk_bytes % 4 != 0) {
    return InvalidArgument("checkpoint chunk size must be a multiple of 4 bytes, at least 4096");
  }
  if (opts.staging_bytes < 0) return InvalidArgument("checkpoint.staging_mb must be >= 0");
  if (Status st = MakeDirs(opts.dir); !st.ok()) {
    return st.WithContext("checkpoint.dir " + opts.dir + " (set it to a writable folder)");
  }
  std::unique_ptr<CheckpointWriter> w(new CheckpointWriter(opts));
  if (opts.async && opts.low_priority) w->low_priority_ = std::make_unique<LowPriorityThread>();
  if (opts.async) w->thread_ = std::thread([p = w.get()] { p->ThreadMain(); });
  return w;
}

CheckpointWriter::~CheckpointWriter() {
  Status st = Wait();
  if (!st.ok()) {
    OGAI_LOG(Error) << "checkpoint: " << st.ToString();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t CheckpointWriter::StagedChunkBytes(int64_t ring_bytes) const {
  return std::min<int64_t>(opts_.chunk_bytes, ring_bytes / 4 * 4);
}

int64_t CheckpointWriter::StagingBytesFor(int64_t snapshot_bytes) const {
  return opts_.staging_bytes > 0 ? opts_.staging_bytes : std::max<int64_t>(snapshot_bytes, 4096);
}

// The staging buffer: the ring's bytes, and before them an aligned start with room for the
// shard header, so that a ring holding the whole snapshot is the file's image.
void CheckpointWriter::EnsureStaging(int64_t ring_bytes) {
  const size_t want = static_cast<size_t>(ring_bytes) + 2 * DirectFile::kAlign;
  if (staging_.size() == want) return;
  staging_.reset();
  staging_ = Buffer(want, MemCategory::kStaging);
}

uint8_t* CheckpointWriter::StagingImage() {
  const auto a = reinterpret_cast<uintptr_t>(staging_.data());
  return staging_.as<uint8_t>() + (DirectFile::kAlign - a % DirectFile::kAlign) % DirectFile::kAlign;
}

void CheckpointWriter::Reserve(int64_t snapshot_bytes) {
  if (!opts_.async) return;
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !busy_; });
  EnsureStaging(StagingBytesFor(snapshot_bytes));
}

bool CheckpointWriter::busy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return busy_;
}

std::vector<SaveStats> CheckpointWriter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Status CheckpointWriter::Save(std::vector<ConstSlice> slices, const SaveMeta& meta) {
  const double t0 = Now();
  for (const ConstSlice& s : slices) {
    Status st = s.region.CheckWithin(s.global_shape);
    if (!st.ok()) return st.WithContext("checkpoint slice of tensor '" + s.name + "'");
    if (s.data == nullptr && s.region.numel() > 0) {
      return InvalidArgument("checkpoint slice of tensor '" + s.name + "' has no data");
    }
  }
  Job job;
  job.slices = std::move(slices);
  job.meta = meta;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (busy_) {
      OGAI_LOG(Warn) << "checkpoint: the save of step " << busy_step_ << " is still being written; the save of step "
                     << meta.step << " waits for it (the disk, or checkpoint.write_mb_per_s, is slower than "
                     << "checkpoint.every_steps asks for)";
      hurry_.store(true);  // the loop waits: no more pacing
      cv_.wait(lock, [&] { return !busy_; });
    }
    job.stats.wait_previous_s = Now() - t0;
    Status prev = last_status_;
    last_status_ = Status::Ok();
    if (!prev.ok()) return prev;
  }
  job.t_start = t0;
  job.stats.step = meta.step;
  if (!opts_.async) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = true;
      busy_step_ = meta.step;
    }
    Status st = RunJob(job, /*staged=*/false);
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = false;
    if (st.ok()) {
      stats_.push_back(job.stats);
      if (stats_.size() > 1000) stats_.erase(stats_.begin());
    }
    return st;
  }
  return Enqueue(std::move(job));
}

Status CheckpointWriter::Enqueue(Job job) {
  hurry_.store(false);
  std::lock_guard<std::mutex> lock(mu_);
  busy_ = true;
  captured_ = job.prefilled;
  busy_step_ = job.meta.step;
  pending_ = std::move(job);
  cv_.notify_all();
  return Status::Ok();
}

std::vector<CheckpointWriter::StagedSlice> CheckpointWriter::Stage(const std::vector<ConstSlice>& slices) {
  std::lock_guard<std::mutex> lock(mu_);
  staged_.clear();
  staged_crc_.clear();
  int64_t total = 0;
  for (const ConstSlice& s : slices) total += SliceBytes(s);
  const int64_t want = StagingBytesFor(total);
  if (!opts_.async || busy_ || want < total) return {};
  EnsureStaging(want);
  const int64_t chunk = StagedChunkBytes(want);
  pb::ShardIndex index;
  ShardLayout layout;
  PlanShardFile(committer_->rank(), slices, 0, 0, chunk, &index, &layout);
  std::vector<StagedSlice> out;
  staged_crc_.resize(slices.size());
  for (size_t i = 0; i < slices.size(); ++i) {
    const int64_t bytes = SliceBytes(slices[i]);
    staged_crc_[i].assign(static_cast<size_t>((bytes + chunk - 1) / chunk), 0);
    out.push_back({StagingImage() + layout.piece_of[i]->byte_offset(), staged_crc_[i].data(), chunk});
    staged_.emplace_back(slices[i].data, bytes);
  }
  return out;
}

Status CheckpointWriter::SaveStaged(std::vector<ConstSlice> slices, const SaveMeta& meta) {
  std::vector<std::vector<uint32_t>> crc;
  {
    std::lock_guard<std::mutex> lock(mu_);
    bool same = !busy_ && staged_.size() == slices.size();
    for (size_t i = 0; same && i < slices.size(); ++i) {
      same = staged_[i] == std::pair<const void*, int64_t>(slices[i].data, SliceBytes(slices[i]));
    }
    staged_.clear();
    crc = std::move(staged_crc_);
    staged_crc_.clear();
    if (!same) return Internal("checkpoint: SaveStaged of step " + std::to_string(meta.step) + " without its Stage");
    Status prev = last_status_;
    last_status_ = Status::Ok();
    if (!prev.ok()) return prev;
  }
  Job job;
  job.slices = std::move(slices);
  job.meta = meta;
  job.t_start = Now();
  job.stats.step = meta.step;
  job.prefilled = true;
  job.chunk_crc = std::move(crc);
  job.stats.staged = true;
  return Enqueue(std::move(job));
}

Status CheckpointWriter::WaitCaptured() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return captured_ || !busy_; });
  return Status::Ok();
}

Status CheckpointWriter::Wait() {
  hurry_.store(true);  // someone waits: the save in flight is no longer paced
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !busy_; });
  Status st = last_status_;
  last_status_ = Status::Ok();
  return st;
}

void CheckpointWriter::MarkCaptured(Job& job) {
  job.stats.capture_s = Now() - job.t_start;
  std::lock_guard<std::mutex> lock(mu_);
  captured_ = true;
  cv_.notify_all();
}

void CheckpointWriter::ThreadMain() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || pending_.has_value(); });
      if (!pending_.has_value()) return;
      job = std::move(*pending_);
      pending_.reset();
    }
    Status st = RunJob(job, /*staged=*/true);
    if (!st.ok()) {
      OGAI_LOG(Error) << "checkpoint: save of step " << job.meta.step << " failed: " << st.ToString();
    }
    std::lock_guard<std::mutex> lock(mu_);
    last_status_ = st;
    if (st.ok()) {
      stats_.push_back(job.stats);
      if (stats_.size() > 1000) stats_.erase(stats_.begin());
    }
    busy_ = false;
    captured_ = true;
    cv_.notify_all();
  }
}

Status CheckpointWriter::RunJob(Job& job, bool staged) {
  const double cpu0 = ThreadCpuSeconds();
  pb::ShardIndex index;
  ShardLayout layout;
  Staging staging;
  Status local = PlanShard(job, staged, &index, &layout, &staging);
  // The copy into staging comes first, before any file-system call: an fsync can take
  // seconds on a busy disk, and the training loop may be waiting for the copy. A prefilled
  // snapshot only needs its checksums, which nobody waits for.
  if (local.ok() && staged && !job.prefilled) (void)FillStaging(job, layout, staging);
  job.stats.cpu_s = ThreadCpuSeconds() - cpu0;
  auto rest = [&] {
    if (local.ok() && job.prefilled) {
      const double cpu1 = ThreadCpuSeconds();
      local = FillStaging(job, layout, staging);
      job.stats.cpu_s += ThreadCpuSeconds() - cpu1;
    }
    return FinishJob(job, staged, staging, layout, index, local);
  };
  // Once the snapshot is whole, nobody waits for the rest (checksums, writes, fdatasync,
  // commit): it runs on the low-priority thread, on cycles the training loop leaves idle.
  if (staged && (staging.captured || job.prefilled) && low_priority_ != nullptr) {
    Status out;
    low_priority_->Run([&] { out = rest(); });
    return out;
  }
  return rest();
}

// The part of a save after the copy into staging: the shard file, the vote and the commit.
Status CheckpointWriter::FinishJob(Job& job, bool staged, Staging& staging, ShardLayout& layout, pb::ShardIndex& index,
                                   Status local) {
  const double cpu0 = ThreadCpuSeconds();
  const int64_t step = job.meta.step;
  std::string step_dir;
  // Rank 0 cleans and creates the step directory; the others wait for it.
  Status prepared = committer_->rank() == 0 ? PrepareStepDir(step, &step_dir) : Status::Ok();
  prepared = committer_->BeginSave(step, prepared);
  if (local.ok()) local = prepared;
  step_dir = JoinPath(opts_.dir, StepDirName(step));
  if (local.ok()) local = WriteShard(job, layout, staged, staging, step_dir);
  if (!staging.captured) {
    staging.captured = true;
    MarkCaptured(job);
  }
  const double t_commit = Now();
  auto votes = committer_->Vote(step, index, local);
  Status outcome;
  if (committer_->rank() == 0) {
    outcome = votes.ok() ? CommitAsLeader(job, *votes, step_dir) : votes.status();
  } else {
    outcome = votes.ok() ? local : votes.status();
  }
  outcome = committer_->Decide(step, outcome);
  if (outcome.ok() && committer_->rank() == 0) {
    Status rs = Retain(step);
    if (!rs.ok()) {
      OGAI_LOG(Warn) << "checkpoint: retention after step " << step << ": " << rs.ToString();
    }
  }
  job.stats.commit_s = Now() - t_commit;
  job.stats.total_s = Now() - job.t_start;
  job.stats.cpu_s += ThreadCpuSeconds() - cpu0;
  if (outcome.ok()) {
    OGAI_LOG(Info) << "checkpoint: step " << step << " committed (" << FormatBytes(job.stats.bytes)
                   << " from this rank, write " << job.stats.write_s << " s, commit " << job.stats.commit_s << " s)";
    if (opts_.on_committed) {
      const std::string shard = JoinPath(step_dir, ShardFileName(committer_->rank()));
      std::error_code ec;
      opts_.on_committed(step, std::filesystem::exists(shard, ec) ? shard : std::string());
    }
  }
  return outcome.ok() ? outcome : outcome.WithContext("checkpoint of step " + std::to_string(step));
}

Status CheckpointWriter::PrepareStepDir(int64_t step, std::string* step_dir) {
  *step_dir = JoinPath(opts_.dir, StepDirName(step));
  std::error_code ec;
  if (std::filesystem::exists(*step_dir, ec)) {
    // A leftover of an earlier attempt at this step: a crashed save, or a checkpoint from
    // the run this one was resumed away from. Its manifest goes first (RemoveCheckpoint).
    const bool committed = std::filesystem::exists(JoinPath(*step_dir, kManifestName), ec);
    OGAI_LOG(Warn) << "checkpoint: replacing the " << (committed ? "committed" : "unfinished") << " checkpoint "
                   << *step_dir << " left by an earlier run";
    OGAI_RETURN_IF_ERROR(RemoveCheckpoint(*step_dir));
  }
  // No fsync of DIR here: the commit's last step (moving `latest`) fsyncs DIR, which makes
  // this directory's entry durable together with `latest`; until then nothing names it.
  return MakeDirs(*step_dir);
}

Status CheckpointWriter::PlanShard(const Job& job, bool staged, pb::ShardIndex* index, ShardLayout* layout,
                                   Staging* staging) {
  int64_t total = 0;
  for (const ConstSlice& s : job.slices) total += SliceBytes(s);
  // Staging: one buffer reused across saves, so resident memory stays flat.
  int64_t chunk = opts_.chunk_bytes;
  if (staged) {
    const int64_t want = StagingBytesFor(total);
    EnsureStaging(want);
    chunk = StagedChunkBytes(want);
    uint8_t* image = StagingImage();
    staging->ring = std::make_unique<Ring>(image + kShardHeaderBytes, want);
    // Filled in file order from its start, a ring as large as the snapshot holds every chunk
    // at its file offset (less the header's bytes).
    if (want >= total) staging->image = image;
  }
  PlanShardFile(committer_->rank(), job.slices, job.meta.opt_begin, job.meta.opt_end, chunk, index, layout);
  return Status::Ok();
}

Status CheckpointWriter::FillStaging(Job& job, const ShardLayout& layout, Staging& staging) {
  while (staging.next < layout.chunks.size()) {
    const ChunkRef& c = layout.chunks[staging.next];
    uint8_t* dst = staging.ring->Alloc(c.len, c);
    if (dst == nullptr) break;
    if (job.prefilled) {  // already there, checksummed, at its file offset (Stage)
      const uint64_t chunk = layout.piece_of[c.slice]->chunk_bytes();
      const size_t k = static_cast<size_t>(static_cast<uint64_t>(c.offset) / chunk);
      if (staging.image == nullptr || dst != staging.image + layout.piece_of[c.slice]->byte_offset() + c.offset ||
          k >= job.chunk_crc[c.slice].size()) {
        return Internal("checkpoint: a staged snapshot is not where Stage put it");
      }
      staging.ring->SetCrc(job.chunk_crc[c.slice][k]);
    } else {
      staging.ring->SetCrc(CopyWithCrc32c(dst, reinterpret_cast<const uint8_t*>(job.slices[c.slice].data) + c.offset,
                                          static_cast<size_t>(c.len)));
    }
    ++staging.next;
  }
  if (staging.next == layout.chunks.size() && !staging.captured) {
    staging.captured = true;
    if (!job.prefilled) MarkCaptured(job);  // a prefilled one was captured before SaveStaged
  }
  return Status::Ok();
}

Status CheckpointWriter::WriteShard(Job& job, ShardLayout& layout, bool staged, Staging& staging,
                                    const std::string& step_dir) {
  const ShardHeader header{committer_->rank(), job.meta.step};
  Status st;
  uint64_t direct = 0;
  if (staged) {
    StagedChunks source(*this, job, layout, staging);
    st = WriteShardFile(step_dir, header, layout, source, opts_.direct_io, &job.stats.write_s, &direct,
                        WritePace{opts_.max_write_bytes_per_s, &hurry_});
  } else {
    DirectChunks source(job, layout);
    st = WriteShardFile(step_dir, header, layout, source, opts_.direct_io, &job.stats.write_s, &direct);
  }
  job.stats.direct_bytes = static_cast<int64_t>(direct);
  if (!st.ok()) return st;
  job.stats.bytes = static_cast<int64_t>(layout.file_bytes);
  return Status::Ok();
}

Status CheckpointWriter::CommitAsLeader(const Job& job, const std::vector<pb::ShardIndex>& votes,
                                        const std::string& step_dir) {
  const SaveMeta& meta = job.meta;
  pb::Manifest m;
  m.set_format_version(kFormatVersion);
  m.set_step(meta.step);
  pb::TrainState* ts = m.mutable_train();
  ts->set_step(meta.step);
  ts->set_seed(meta.seed);
  ts->set_global_batch(meta.global_batch);
  ts->set_samples_consumed(meta.step * meta.global_batch);
  ts->set_optimizer("adamw");
  *m.mutable_layout() = meta.layout;
  m.set_config_yaml(meta.config_yaml);
  m.set_dataset_id(meta.dataset_id);
  m.set_created_by(std::string("ogai 0.1.0 (git ") + GitCommit() + ")");
  m.set_created_unix_ms(static_cast<int64_t>(UnixMs()));

  std::map<std::string, int> tensor_of;
  for (const pb::ShardIndex& idx : votes) {
    const int file = m.files_size();
    *m.add_files() = idx.file();
    if (idx.optimizer_range().end() > idx.optimizer_range().begin()) {
      *m.add_optimizer_ranges() = idx.optimizer_range();
    }
    for (const pb::Tensor& t : idx.tensors()) {
      auto it = tensor_of.find(t.name());
      pb::Tensor* dst;
      if (it == tensor_of.end()) {
        tensor_of[t.name()] = m.tensors_size();
        dst = m.add_tensors();
        dst->set_name(t.name());
        dst->set_dtype(t.dtype());
        *dst->mutable_shape() = t.shape();
      } else {
        dst = m.mutable_tensors(it->second);
        if (dst->dtype() != t.dtype() ||
            !std::equal(dst->shape().begin(), dst->shape().end(), t.shape().begin(), t.shape().end())) {
          return Internal("rank " + std::to_string(idx.rank()) + " saved tensor '" + t.name() +
                          "' with another global shape or dtype than an earlier rank");
        }
      }
      for (const pb::Piece& p : t.pieces()) {
        pb::Piece* q = dst->add_pieces();
        *q = p;
        q->set_file(file);
      }
    }
  }
  // Every element of every tensor written exactly once (the pieces are then disjoint).
  for (const pb::Tensor& t : m.tensors()) {
    int64_t want = 1, have = 0;
    for (int64_t d : t.shape()) want *= d;
    for (const pb::Piece& p : t.pieces()) have += p.flat_end() - p.flat_begin();
    if (have != want) {
      return Internal("tensor '" + t.name() + "': the ranks wrote " + std::to_string(have) + " of its " +
                      std::to_string(want) + " elements (" + (have < want ? "a gap" : "an overlap") +
                      "); the write plan that chose each rank's slices is wrong");
    }
  }
  OGAI_RETURN_IF_ERROR(WriteManifest(step_dir, m));
  return WriteLatest(opts_.dir, StepDirName(meta.step));
}

Status CheckpointWriter::Retain(int64_t step) {
  OGAI_ASSIGN_OR_RETURN(auto list, ListCheckpoints(opts_.dir));
  int kept = 1;  // the one just committed
  Status first_error;
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    if (it->step >= step) continue;  // this one, and any from an abandoned later run
    bool remove;
    if (it->committed) {
      remove = kept >= opts_.keep_last;
      if (!remove) ++kept;
    } else {
      remove = true;  // an unfinished save older than a committed one
    }
    if (!remove) continue;
    OGAI_LOG(Info) << "checkpoint: removing " << (it->committed ? "" : "unfinished ") << it->path
                   << " (checkpoint.keep_last = " << opts_.keep_last << ")";
    Status st = RemoveCheckpoint(it->path);
    if (!st.ok() && first_error.ok()) first_error = st;
  }
  return first_error;
}

}  // namespace ogai::ckpt
