#include "train/checkpointing.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "ckpt/format.h"
#include "core/clock.h"
#include "core/knobs.h"
#include "core/log.h"
#include "core/profile.h"

namespace ogai::train {
namespace {

constexpr const char* kMomentM = "adamw.m.";
constexpr const char* kMomentV = "adamw.v.";

// The parts of tensor p this optimizer holds moments for: (flat begin, flat end, state index).
struct OptPiece {
  int64_t begin, end, state;
};
std::vector<OptPiece> OptPieces(const optim::AdamW& opt, const model::ParamSpec& p) {
  std::vector<OptPiece> out;
  int64_t state = 0;
  for (const auto& r : opt.ranges()) {
    const int64_t b = std::max(r.first, p.offset), e = std::min(r.second, p.offset + p.numel);
    if (b < e) out.push_back({b, e, state + (b - r.first)});
    state += r.second - r.first;
  }
  return out;
}

bool OptimizerIsSharded(const model::GPT& model, const optim::AdamW& opt) {
  const auto& r = opt.ranges();
  return r.size() != 1 || r[0].first != 0 || r[0].second != model.num_local_params();
}

// train.steps of the run that saved a checkpoint, from its config; 0 when it cannot be read.
int64_t SavedScheduleSteps(const std::string& config_yaml) {
  try {
    const YAML::Node steps = YAML::Load(config_yaml)["train"]["steps"];
    return steps ? steps.as<int64_t>() : 0;
  } catch (const YAML::Exception&) {
    return 0;
  }
}

}  // namespace

ckpt::Region SpecRegion(const model::ParamSpec& p) {
  std::vector<int64_t> begin(p.global_shape.size(), 0);
  if (p.shard_dim >= 0) begin[p.shard_dim] = p.shard_begin;
  return ckpt::Region::Box(std::move(begin), p.local_shape);
}

std::vector<ckpt::ConstSlice> CheckpointWritePlan(const model::GPT& model, const optim::AdamW& opt,
                                                  const CheckpointRole& role, bool zero_sharded) {
  const model::ModelLayout& L = model.layout();
  const bool zero = zero_sharded || OptimizerIsSharded(model, opt);
  std::vector<ckpt::ConstSlice> out;
  auto add = [&](const std::string& name, const model::ParamSpec& p, const ckpt::Region& r, const float* data,
                 bool split_over_dp) {
    int64_t lo = 0, hi = r.numel();
    if (split_over_dp && role.dp_size > 1) {
      lo = r.numel() * role.dp_rank / role.dp_size;
      hi = r.numel() * (role.dp_rank + 1) / role.dp_size;
    }
    if (lo < hi) out.push_back({name, p.global_shape, r.Sub(lo, hi), data + lo});
  };
  for (const model::ParamSpec& p : model.params()) {
    if (p.shard_dim < 0 && L.tp_rank != 0) continue;  // replicated over TP: TP rank 0 writes
    if (p.name == "wte" && !L.first_stage) continue;  // tied copy on the last stage
    const ckpt::Region r = SpecRegion(p);
    // Without ZeRO every DP rank holds the whole state and writes its share of each tensor.
    // Under ZeRO-1 a rank writes exactly the elements its optimizer updates, parameters and
    // moments alike, so that what it writes is what it computes (the optimizer can stage it).
    if (!zero) add(p.name, p, r, model.param_data() + p.offset, true);
    for (const OptPiece& o : OptPieces(opt, p)) {
      const ckpt::Region orr = r.Sub(o.begin - p.offset, o.end - p.offset);
      if (zero) add(p.name, p, orr, model.param_data() + o.begin, false);
      add(kMomentM + p.name, p, orr, opt.m() + o.state, !zero);
      add(kMomentV + p.name, p, orr, opt.v() + o.state, !zero);
    }
  }
  return out;
}

std::vector<ckpt::ReadSlice> CheckpointReadPlan(model::GPT& model, optim::AdamW& opt) {
  std::vector<ckpt::ReadSlice> out;
  for (const model::ParamSpec& p : model.params()) {
    const ckpt::Region r = SpecRegion(p);
    out.push_back({p.name, p.global_shape, r, model.param_data() + p.offset});
    for (const OptPiece& o : OptPieces(opt, p)) {
      const ckpt::Region orr = r.Sub(o.begin - p.offset, o.end - p.offset);
      out.push_back({kMomentM + p.name, p.global_shape, orr, opt.m() + o.state});
      out.push_back({kMomentV + p.name, p.global_shape, orr, opt.v() + o.state});
    }
  }
  return out;
}

Result<std::unique_ptr<Checkpointing>> Checkpointing::Create(const Config& cfg, model::GPT* model, optim::AdamW* opt,
                                                             const CheckpointRole& role, ckpt::Committer* committer) {
  std::unique_ptr<Checkpointing> c(new Checkpointing());
  c->cfg_ = cfg;
  c->model_ = model;
  c->opt_ = opt;
  c->role_ = role;
  c->committer_ = committer;
  if (const std::optional<std::string> kb_text = KnobText("OGAI_CKPT_CHUNK_KB")) {
    const char* kb = kb_text->c_str();
    char* end = nullptr;
    const long v = std::strtol(kb, &end, 10);
    if (*end != '\0' || v < 4 || v > (1 << 20)) {
      return InvalidArgument(std::string("OGAI_CKPT_CHUNK_KB must be a whole number of KiB in [4, 1048576], got '") +
                             kb + "'");
    }
    c->chunk_bytes_ = static_cast<int64_t>(v) * 1024;
  }
  const auto& cc = cfg.checkpoint;
  if (!cc.dir.empty()) {
    ckpt::WriterOptions wo;
    wo.dir = cc.dir;
    wo.keep_last = cc.keep_last;
    wo.async = cc.async;
    wo.staging_bytes = static_cast<int64_t>(cc.staging_mb * 1024.0 * 1024.0);
    wo.max_write_bytes_per_s = cc.write_mb_per_s * 1e6;
    wo.chunk_bytes = c->chunk_bytes_;
    wo.direct_io = KnobFlag("OGAI_CKPT_DIRECT_IO", true);
    wo.low_priority = KnobFlag("OGAI_CKPT_LOW_PRIORITY", false);
    wo.committer = committer;
    Checkpointing* self = c.get();
    wo.on_committed = [self](int64_t step, const std::string& shard) { self->OnCommitted(step, shard); };
    OGAI_ASSIGN_OR_RETURN(c->writer_, ckpt::CheckpointWriter::Create(wo));
    int64_t snapshot = 0;
    for (const auto& s : CheckpointWritePlan(*model, *opt, role, cfg.parallel.zero > 0))
      snapshot += s.region.numel() * 4;
    c->writer_->Reserve(snapshot);
  }
  return c;
}

Checkpointing::~Checkpointing() {
  // The writer's thread calls OnCommitted: it must be gone before the peer copies are.
  writer_.reset();
}

std::string ResumeInfo::Source() const {
  if (path.empty()) return "none";
  if (files_from_peers == 0) return "disk";
  return files_from_peers == files ? "peer" : "mixed";
}

PeerCopyInfo Checkpointing::last_peer_copy() const {
  std::lock_guard<std::mutex> lock(peer_mu_);
  return peer_copy_;
}

CommitInfo Checkpointing::last_commit() const {
  std::lock_guard<std::mutex> lock(peer_mu_);
  return commit_;
}

std::vector<CommitInfo> Checkpointing::TakeCommits() {
  std::lock_guard<std::mutex> lock(peer_mu_);
  return std::exchange(unreported_, {});
}

void Checkpointing::OnCommitted(int64_t step, const std::string& shard_path) {
  {
    std::lock_guard<std::mutex> lock(peer_mu_);
    commit_ = {step, ckpt::JoinPath(cfg_.checkpoint.dir, ckpt::StepDirName(step)), UnixMs()};
    unreported_.push_back(commit_);
  }
  if (peers_ == nullptr || shard_path.empty()) return;
  auto st = peers_->Push(step, shard_path);
  if (!st.ok()) {
    OGAI_LOG(Warn) << "checkpoint: " << st.status().message() << " (the checkpoint on disk is complete)";
    return;
  }
  OGAI_LOG(Info) << "checkpoint: step " << step << " shard (" << st->bytes << " bytes) copied into memory, "
                 << st->places << " places (node folder, shard caches) in " << st->seconds * 1e3 << " ms";
  std::lock_guard<std::mutex> lock(peer_mu_);
  peer_copy_ = {st->step, st->bytes, st->places, st->seconds};
}

ckpt::SaveMeta Checkpointing::Meta(int64_t step) const {
  ckpt::SaveMeta m;
  m.step = step;
  m.seed = cfg_.train.seed;
  m.global_batch = cfg_.train.global_batch;
  const auto& P = cfg_.parallel;
  m.layout.set_dp(P.dp);
  m.layout.set_tp(P.tp);
  m.layout.set_pp(P.pp);
  m.layout.set_world_size(P.dp * P.tp * P.pp);
  m.layout.set_zero(P.zero);
  for (int l : P.pp_layers) m.layout.add_pp_layers(l);
  m.config_yaml = ConfigToYaml(cfg_);
  m.dataset_id = dataset_id_;
  // The span of this rank's optimizer ranges (informational; the moments' pieces are
  // recorded tensor by tensor).
  m.opt_begin = opt_->ranges().empty() ? 0 : opt_->ranges().front().first;
  m.opt_end = opt_->ranges().empty() ? 0 : opt_->ranges().back().second;
  return m;
}

Status Checkpointing::Load(const std::string& path, int64_t* step) {
  OGAI_PROFILE(kCheckpoint);
  const double t0 = Now();
  OGAI_ASSIGN_OR_RETURN(auto ck, ckpt::Checkpoint::Open(path));
  const auto& ts = ck->manifest().train();
  if (ts.global_batch() != cfg_.train.global_batch) {
    return InvalidArgument(
        "checkpoint " + ck->path() + " was saved with a global batch of " + std::to_string(ts.global_batch()) +
        " samples, this run has " + std::to_string(cfg_.train.global_batch) +
        ": the data position would not match; set train.global_batch=" + std::to_string(ts.global_batch()) +
        " (or resume: none)");
  }
  if (ts.seed() != cfg_.train.seed) {
    return InvalidArgument("checkpoint " + ck->path() + " was saved with train.seed=" + std::to_string(ts.seed()) +
                           ", this run has " + std::to_string(cfg_.train.seed) +
                           ": the data order would not continue; set train.seed=" + std::to_string(ts.seed()));
  }
  const auto plan = CheckpointReadPlan(*model_, *opt_);
  const std::vector<int> files = ck->FilesFor(plan);
  ResumeInfo info;
  info.path = ck->path();
  info.files = static_cast<int>(files.size());
  const auto& saved = ck->manifest().layout();
  info.saved_dp = saved.dp();
  info.saved_tp = saved.tp();
  info.saved_pp = saved.pp();
  info.saved_steps = SavedScheduleSteps(ck->manifest().config_yaml());
  ckpt::ShardBytes mem;
  if (peers_ != nullptr) {
    std::vector<std::pair<std::string, uint64_t>> want;
    for (int f : files) want.push_back({ck->manifest().files(f).name(), ck->manifest().files(f).bytes()});
    ckpt::PeerCopies::FetchStats fs;
    mem = peers_->Fetch(ck->step(), want, &fs);
    info.files_from_peers = fs.files;
    info.bytes_from_peers = fs.bytes;
    OGAI_LOG(Info) << "checkpoint: fetched " << fs.files << " of " << want.size() << " shard files (" << fs.bytes
                   << " bytes) from peer memory in " << fs.seconds * 1e3 << " ms";
  }
  Status read = ck->Read(plan, mem.empty() ? nullptr : &mem);
  if (!read.ok() && !mem.empty()) {
    OGAI_LOG(Warn) << "checkpoint: reading the peer copies failed (" << read.message() << "); reading the files";
    info.files_from_peers = 0;
    info.bytes_from_peers = 0;
    read = ck->Read(plan);
  }
  OGAI_RETURN_IF_ERROR(read);
  *step = ck->step();
  info.step = *step;
  info.load_s = Now() - t0;
  resume_ = info;
  const auto& L = ck->manifest().layout();
  OGAI_LOG(Info) << "checkpoint: resumed from " << ck->path() << " at step " << *step << " (saved at dp " << L.dp()
                 << " x tp " << L.tp() << " x pp " << L.pp() << ") in " << info.load_s * 1e3 << " ms; "
                 << info.files_from_peers << " of " << info.files << " shard files from peer memory";
  return Status::Ok();
}

Result<int64_t> Checkpointing::Resume() {
  const auto& cc = cfg_.checkpoint;
  int64_t step = 0;
  if (cc.resume == "none") return int64_t{0};
  // Every rank takes part in the agreement for every attempt, so a rank that fails makes
  // all of them move on (or stop) together.
  auto agree = [&](const Status& mine) -> Result<bool> {
    if (!agree_) return mine.ok();
    return agree_(mine.ok());
  };
  if (cc.resume != "auto") {
    Status st = Load(cc.resume, &step);
    OGAI_ASSIGN_OR_RETURN(bool all_ok, agree(st));
    if (!st.ok()) return st.WithContext("checkpoint.resume=" + cc.resume);
    if (!all_ok) return Aborted("checkpoint.resume=" + cc.resume + ": another rank could not load it (see its log)");
  } else {
    if (cc.dir.empty()) return int64_t{0};
    OGAI_ASSIGN_OR_RETURN(auto candidates, ckpt::ResumeCandidates(cc.dir));
    if (candidates.empty()) {
      OGAI_LOG(Info) << "checkpoint: no committed checkpoint in " << cc.dir << "; starting from step 0";
      return int64_t{0};
    }
    std::string failures;
    bool loaded = false;
    for (size_t i = 0; i < candidates.size() && !loaded; ++i) {
      Status st = Load(candidates[i], &step);
      OGAI_ASSIGN_OR_RETURN(bool all_ok, agree(st));
      if (all_ok) {
        if (i > 0) {
          OGAI_LOG(Warn) << "checkpoint: resumed from the earlier checkpoint " << candidates[i];
        }
        loaded = true;
        break;
      }
      if (st.ok()) st = Corruption(candidates[i] + ": another rank could not load its part (see its log)");
      const bool damaged =
          st.code() == Code::kCorruption || st.code() == Code::kNotFound || st.code() == Code::kIoError;
      if (!damaged) return st;  // e.g. another model config: an older checkpoint would not help
      if (cc.strict) {
        return st.WithContext(
            "checkpoint.strict is set, so a damaged checkpoint is an error (unset it to fall "
            "back to the previous committed checkpoint)");
      }
      OGAI_LOG(Warn) << "checkpoint: " << candidates[i] << " is unusable: " << st.message()
                     << (i + 1 < candidates.size() ? "; falling back to the previous committed checkpoint" : "");
      failures += (failures.empty() ? "" : "; ") + st.message();
    }
    if (!loaded) {
      return Corruption("no usable checkpoint in " + cc.dir + " (" + failures +
                        "); set checkpoint.resume=none to start from scratch");
    }
  }
  if (step >= cfg_.train.steps) {
    OGAI_LOG(Warn) << "checkpoint: the checkpoint is at step " << step << " and train.steps = " << cfg_.train.steps
                   << ": nothing is left to train (raise train.steps to continue)";
  }
  return step;
}

Result<const std::vector<optim::SnapshotTarget>*> Checkpointing::BeforeOptimizerStep(int64_t step) {
  staged_step_ = -1;
  if (writer_ == nullptr) return nullptr;
  if (fence_pending_) {
    OGAI_PROFILE(kCheckpoint);
    const double t0 = Now();
    Status st = writer_->WaitCaptured();
    fence_pending_ = false;
    if (!stalls_.empty()) stalls_.back() += Now() - t0;
    OGAI_RETURN_IF_ERROR(st);
  }
  // Staged by the optimizer: every byte this rank writes is one its optimizer updates (under
  // ZeRO-1 too: the write plan then follows the optimizer's shard, CheckpointWritePlan).
  if (!cfg_.checkpoint.async || !SaveDue(step)) return nullptr;
  std::vector<ckpt::ConstSlice> plan = WritePlan();
  // The plan is, per tensor, its parameters then their two moments (CheckpointWritePlan): one
  // target each, where the optimizer keeps exactly those moments.
  if (plan.size() % 3 != 0) return nullptr;
  const float* params = model_->param_data();
  for (size_t i = 0; i < plan.size(); i += 3) {
    const int64_t n = plan[i].region.numel();
    const int64_t b = static_cast<const float*>(plan[i].data) - params;
    const int64_t st = opt_->StateIndex(b, b + n);
    if (st < 0 || plan[i + 1].region.numel() != n || plan[i + 2].region.numel() != n ||
        plan[i + 1].data != opt_->m() + st || plan[i + 2].data != opt_->v() + st) {
      return nullptr;
    }
  }
  const std::vector<ckpt::CheckpointWriter::StagedSlice> dst = writer_->Stage(plan);
  if (dst.empty()) return nullptr;  // a save still in flight: AfterStep saves the usual way
  snapshot_targets_.clear();
  for (size_t i = 0; i < plan.size(); i += 3) {
    optim::SnapshotTarget t;
    t.begin = static_cast<const float*>(plan[i].data) - params;
    t.end = t.begin + plan[i].region.numel();
    t.param = reinterpret_cast<float*>(dst[i].data);
    t.m = reinterpret_cast<float*>(dst[i + 1].data);
    t.v = reinterpret_cast<float*>(dst[i + 2].data);
    t.chunk = dst[i].chunk_bytes / static_cast<int64_t>(sizeof(float));
    t.crc_param = dst[i].chunk_crc;
    t.crc_m = dst[i + 1].chunk_crc;
    t.crc_v = dst[i + 2].chunk_crc;
    snapshot_targets_.push_back(t);
  }
  staged_plan_ = std::move(plan);
  staged_step_ = step;
  return &snapshot_targets_;
}

bool Checkpointing::SaveDue(int64_t step) const {
  const auto& cc = cfg_.checkpoint;
  const bool last = step == cfg_.train.steps || step == cfg_.train.stop_after;
  return last || step == requested_step_ || (cc.every_steps > 0 && step % cc.every_steps == 0);
}

Status Checkpointing::AfterStep(int64_t step) {
  if (writer_ == nullptr) return Status::Ok();
  const bool last = step == cfg_.train.steps || step == cfg_.train.stop_after;
  if (!SaveDue(step)) return Status::Ok();
  OGAI_RETURN_IF_ERROR(SaveNow(step));
  if (last) {
    fence_pending_ = false;
    return writer_->Wait();
  }
  return Status::Ok();
}

std::vector<ckpt::ConstSlice> Checkpointing::WritePlan() const {
  return CheckpointWritePlan(*model_, *opt_, role_, cfg_.parallel.zero > 0);
}

Status Checkpointing::SaveNow(int64_t step) {
  if (writer_ == nullptr) return InvalidArgument("checkpoint.dir is not set: there is nowhere to save");
  OGAI_PROFILE(kCheckpoint);
  const double t0 = Now();
  if (staged_step_ == step) {  // the optimizer wrote the snapshot: nothing to copy or fence
    staged_step_ = -1;
    OGAI_RETURN_IF_ERROR(writer_->SaveStaged(std::move(staged_plan_), Meta(step)));
    stalls_.push_back(Now() - t0);
    last_saved_step_ = step;
    return Status::Ok();
  }
  OGAI_RETURN_IF_ERROR(writer_->Save(CheckpointWritePlan(*model_, *opt_, role_, cfg_.parallel.zero > 0), Meta(step)));
  stalls_.push_back(Now() - t0);
  fence_pending_ = cfg_.checkpoint.async;
  last_saved_step_ = step;
  return Status::Ok();
}

Status Checkpointing::SaveAndWait(int64_t step) {
  if (last_saved_step_ != step) OGAI_RETURN_IF_ERROR(SaveNow(step));
  fence_pending_ = false;
  return writer_->Wait();
}

Result<ckpt::SaveStats> Checkpointing::SaveSync(int64_t step, const std::string& dir) {
  if (writer_ != nullptr) OGAI_RETURN_IF_ERROR(writer_->Wait());
  ckpt::WriterOptions wo;
  wo.dir = dir.empty() ? cfg_.checkpoint.dir : dir;
  wo.keep_last = cfg_.checkpoint.keep_last;
  wo.async = false;
  wo.chunk_bytes = chunk_bytes_;
  wo.direct_io = KnobFlag("OGAI_CKPT_DIRECT_IO", true);
  wo.committer = committer_;
  OGAI_ASSIGN_OR_RETURN(auto w, ckpt::CheckpointWriter::Create(wo));
  OGAI_RETURN_IF_ERROR(w->Save(CheckpointWritePlan(*model_, *opt_, role_, cfg_.parallel.zero > 0), Meta(step)));
  return w->stats().back();
}

}  // namespace ogai::train
