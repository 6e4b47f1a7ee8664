#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "ckpt/store_committer.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/profile.h"
#include "dataproc/dataset.h"
#include "kernels/cpu/adamw.h"
#include "optim/schedule.h"
#include "train/device.h"
#include "train/evaluate.h"
#include "train/init_from.h"

namespace ogai::train {

Trainer::~Trainer() {
  // A pending reduction must not outlive its buffer.
  if (embed_work_) (void)embed_work_->Wait();
}

Result<std::unique_ptr<Trainer>> Trainer::Create(const Config& cfg, DistContext ctx, TrainerOptions opts) {
  // The trainer's buffers are host memory; the device step is not wired (train/device.h).
  if (cfg.model.device == "cuda") return NotSupported(CudaTrainerMissing());
  std::unique_ptr<Trainer> t(new Trainer());
  t->cfg_ = cfg;
  t->ctx_ = std::move(ctx);
  t->opts_ = opts;
  if (t->ctx_.world == nullptr) {
    OGAI_ASSIGN_OR_RETURN(t->ctx_.layout, parallel::MakeLayout(cfg.parallel, cfg.model, 0, 1));
  } else if (t->ctx_.world->size() > 1 && t->ctx_.mesh == nullptr) {
    return Internal("a multi-rank Trainer needs the device mesh");
  }
  OGAI_RETURN_IF_ERROR(t->SetUp());
  return t;
}

Result<int64_t> Trainer::SwitchRecompute(model::Recompute r) {
  if (pipeline_ != nullptr) return InvalidArgument("switching train.recompute between steps needs parallel.pp = 1");
  const int from = static_cast<int>(model_->recompute()), to = static_cast<int>(r);
  if (from != to) {
    parked_acts_[from] = std::move(acts_);
    model_->set_recompute(r);
    if (parked_acts_[to] == nullptr) {
      const int64_t before = GetMemStats()[MemCategory::kActivations].current;
      parked_acts_[to] = model_->NewActivations(cfg_.train.micro_batch);
      act_bytes_[to] = GetMemStats()[MemCategory::kActivations].current - before;
    }
    acts_ = std::move(parked_acts_[to]);
  }
  return act_bytes_[to];
}

Status Trainer::SetUp() {
  const auto& L = ctx_.layout;
  const auto& tc = cfg_.train;
  double mark = Now();
  auto phase = [&](const char* name) {
    const double now = Now();
    ctx_.startup_ms.push_back({name, (now - mark) * 1e3});
    mark = now;
  };
  std::shared_ptr<data::TokenSource> source;
  if (cfg_.data.source == "dataset") {
    OGAI_ASSIGN_OR_RETURN(data::DatasetSplits splits, data::OpenDatasetSplits(cfg_.data.dataset, cfg_.model.vocab));
    source = splits.train;
    dataset_id_ = splits.info.id;
    if (tc.eval_every > 0) {
      if (splits.val == nullptr) {
        return InvalidArgument("train.eval_every is set but dataset '" + cfg_.data.dataset +
                               "' has no validation documents; set train.eval_every=0, or " +
                               data::NoValidationDocumentsHelp());
      }
      auto val = data::DataLoader::Create(splits.val, cfg_.model.seq_len, tc.seed);
      if (!val.ok()) return val.status().WithContext("the validation split of '" + cfg_.data.dataset + "'");
      val_loader_ = std::move(*val);
      // Bits per byte need the text each token stands for: the dataset's own tokenizer.
      auto tok = data::LoadDatasetTokenizer(splits.info);
      if (!tok.ok()) return tok.status().WithContext("the tokenizer of dataset '" + cfg_.data.dataset + "'");
      val_token_bytes_ = (*tok)->TokenByteLengths();
    }
  } else {
    OGAI_ASSIGN_OR_RETURN(source, data::TokenSource::FromConfig(cfg_.data, cfg_.model.vocab));
  }
  OGAI_ASSIGN_OR_RETURN(loader_, data::DataLoader::Create(source, cfg_.model.seq_len, tc.seed));
  phase("data");
  // Parameters are initialised after the resume below, and only when nothing was loaded:
  // a restarted group does not pay for an initialisation the checkpoint overwrites.
  OGAI_ASSIGN_OR_RETURN(model_, model::GPT::Create(cfg_.model, L.ModelLayout()));
  if (cfg_.train.precision == "bf16") OGAI_RETURN_IF_ERROR(model_->SetPrecision(model::Precision::kBf16));
  model_->set_recompute(cfg_.train.recompute == "full"        ? model::Recompute::kFull
                        : cfg_.train.recompute == "selective" ? model::Recompute::kSelective
                                                              : model::Recompute::kNone);
  phase("model");
  const int64_t n = model_->num_local_params();
  for (size_t i = 0; i < model_->params().size(); ++i)
    if (model_->params()[i].name == "wte") wte_ = static_cast<int>(i);

  if (L.tp > 1) {
    tp_comm_ = std::make_unique<parallel::GroupTensorParallelComm>(&ctx_.mesh->tp());
    model_->set_tp_comm(tp_comm_.get());
  }
  const bool zero = cfg_.parallel.zero == 1 && L.dp > 1;
  if (L.dp > 1) {
    const int64_t bucket_elems = std::max<int64_t>(16, static_cast<int64_t>(cfg_.parallel.bucket_mb * 1024 * 1024 / 4));
    reducer_ = std::make_unique<parallel::GradReducer>(&ctx_.mesh->dp(),
                                                       parallel::PlanBuckets(model_->params(), n, bucket_elems),
                                                       model_->grad_data(), zero, cfg_.parallel.overlap);
    if (L.pp > 1 && wte_ >= 0) reducer_->Defer(wte_);
    early_wte_ = L.pp == 1 && wte_ >= 0 && !zero;
  }
  if (early_wte_) {
    model_->set_embedding_grad_sink(
        {[this] { return last_micro_; },
         [this](const int32_t* t, const float* r, int64_t k) { TakeEmbeddingGrad(t, r, k); }});
  }
  if (reducer_ || (L.pp > 1 && wte_ >= 0)) {
    model_->set_grad_ready_hook([this](int p) { OnGradReady(p); });
  }
  if (L.pp > 1 && wte_ >= 0 && ctx_.embed == nullptr) {
    return Internal("pipeline stage holding the tied embedding has no embedding group");
  }
  std::vector<optim::AdamW::Range> owned =
      reducer_ ? reducer_->OwnedRanges(n) : std::vector<optim::AdamW::Range>{{0, n}};
  opt_ = std::make_unique<optim::AdamW>(tc, model_->params(), owned);

  // [checkpoint 1/3] resume as checkpoint.resume says (the step counter included). Ranks
  // agree on every candidate, so no two ranks continue from different steps.
  const bool multi = ctx_.world != nullptr && ctx_.world->size() > 1;
  if (multi && !cfg_.checkpoint.dir.empty()) {
    if (ctx_.store == nullptr) {
      return InvalidArgument("checkpoint.dir is set but this " + std::to_string(ctx_.world->size()) +
                             "-rank job has no store for the commit vote; start it with ogai-run, or export "
                             "MASTER_ADDR and MASTER_PORT");
    }
    committer_ = std::make_unique<ckpt::StoreCommitter>(
        ctx_.store, L.rank, L.world, std::chrono::milliseconds(static_cast<int64_t>(cfg_.parallel.timeout_s * 1000)));
  }
  CheckpointRole role{L.rank, L.world, L.dp_idx, L.dp};
  OGAI_ASSIGN_OR_RETURN(ckpt_, Checkpointing::Create(cfg_, model_.get(), opt_.get(), role, committer_.get()));
  ckpt_->set_dataset_id(dataset_id_);
  OGAI_RETURN_IF_ERROR(EnablePeerCopies());
  phase("optimizer_checkpointing");
  if (multi) {
    comm::ProcessGroup* world = ctx_.world;
    ckpt_->set_agreement([world](bool ok) -> Result<bool> {
      float v = ok ? 0.0f : 1.0f;
      OGAI_RETURN_IF_ERROR(world->AllReduce(&v, &v, 1, comm::DataType::kFloat32, comm::ReduceOp::kSum)->Wait());
      return v == 0.0f;
    });
  }
  OGAI_ASSIGN_OR_RETURN(step_, ckpt_->Resume());
  if (ckpt_->resume_info().path.empty()) {
    model_->Init(tc.seed);
    if (!tc.init_from.empty()) {  // fine-tuning: these weights, a fresh optimizer and schedule
      OGAI_ASSIGN_OR_RETURN(InitSource src, ResolveInitFrom(tc.init_from));
      OGAI_RETURN_IF_ERROR(LoadInitWeights(src.checkpoint, *model_));
      ckpt_->set_init_from(src.resolved);
      cfg_.train.init_from = src.resolved;
      if (L.rank == 0 && opts_.print) Print("init_from: the weights of " + src.resolved + " (" + src.checkpoint + ")");
    }
  } else if (!tc.init_from.empty()) {
    // Resumed: keep the parent the run resolved when it started (an alias may have moved).
    OGAI_ASSIGN_OR_RETURN(std::string parent, InitFromOfCheckpoint(ckpt_->resume_info().path));
    if (!parent.empty()) {
      ckpt_->set_init_from(parent);
      cfg_.train.init_from = parent;
    }
  }
  if (opts_.print && is_rank0() && !ckpt_->resume_info().path.empty()) {
    Print(ResumeLine(ckpt_->resume_info(), L));
    const std::string warning = ScheduleWarning(ckpt_->resume_info(), tc.steps);
    if (!warning.empty()) {
      OGAI_LOG(Warn) << warning;
    }
  }
  phase("resume");

  // Which gradient elements this rank counts towards the global norm: tensors sharded over
  // TP on every TP rank, replicated ones on TP rank 0; the last stage's tied wte copy not at
  // all (the first stage counts it); after DP reduction, DP rank 0 (or, with ZeRO, each DP
  // rank its own chunks).
  std::vector<std::pair<int64_t, int64_t>> dp_owned;
  if (zero)
    dp_owned = owned;
  else if (L.dp_idx == 0)
    dp_owned = {{0, n}};
  for (const auto& p : model_->params()) {
    if (p.shard_dim < 0 && L.tp_idx != 0) continue;
    if (p.name == "wte" && L.pp > 1 && !L.first_stage()) continue;
    for (const auto& r : dp_owned) {
      const int64_t b = std::max(r.first, p.offset), e = std::min(r.second, p.offset + p.numel);
      if (b < e) norm_ranges_.push_back({b, e});
    }
  }

  const float loss_grad_scale = 1.0f / static_cast<float>(static_cast<int64_t>(tc.global_batch) * cfg_.model.seq_len);
  if (L.pp > 1) {
    Pipeline::Options po;
    po.group = &ctx_.mesh->pp();
    po.stage = L.pp_idx;
    po.stages = L.pp;
    po.micro_batches = tc.grad_accum;
    po.micro_batch = tc.micro_batch;
    po.seq_len = cfg_.model.seq_len;
    po.d_model = cfg_.model.d_model;
    po.loss_grad_scale = loss_grad_scale;
    po.overwrite_grads = !ZeroSharded();
    Pipeline::Hooks hooks;
    hooks.load = [this](int micro, int32_t* inputs, int32_t* targets) { LoadMicro(micro, inputs, targets); };
    hooks.before_backward = [this](int micro) { BeforeBackward(micro); };
    pipeline_ = std::make_unique<Pipeline>(model_.get(), po, std::move(hooks));
  } else {
    const int64_t before = GetMemStats()[MemCategory::kActivations].current;
    acts_ = model_->NewActivations(tc.micro_batch);
    act_bytes_[static_cast<int>(model_->recompute())] = GetMemStats()[MemCategory::kActivations].current - before;
    const int64_t bt = static_cast<int64_t>(tc.micro_batch) * cfg_.model.seq_len;
    inputs_.resize(bt);
    targets_.resize(bt);
  }
  flops_per_token_ = model::GPT::ModelFlopsPerToken(cfg_.model);
  phase("buffers");
  OGAI_RETURN_IF_ERROR(OpenMetrics());
  OGAI_LOG(Info) << "layout dp " << L.dp << " x tp " << L.tp << " x pp " << L.pp << ": dp " << L.dp_idx << ", tp "
                 << L.tp_idx << ", stage " << L.pp_idx << " (blocks " << L.stage_layers[L.pp_idx].first << ".."
                 << L.stage_layers[L.pp_idx].second - 1 << "); " << model_->params().size() << " tensors, " << n
                 << " local parameters; data " << source->total_tokens() << " tokens"
                 << (reducer_ ? "; " + std::to_string(reducer_->plan().buckets.size()) + " DP buckets" : "")
                 << (zero ? " (ZeRO-1)" : "");
  return Status::Ok();
}

Status Trainer::EnablePeerCopies() {
  const auto& cc = cfg_.checkpoint;
  if (cc.peer_copies <= 0 || cc.dir.empty()) return Status::Ok();
  if (ctx_.shard_caches.empty()) {
    if (ctx_.layout.rank == 0) {
      OGAI_LOG(Warn) << "checkpoint.peer_copies is " << cc.peer_copies
                     << " but no shard cache is running (OGAI_SHARD_CACHES is not set: start the job with "
                        "ogai-run); checkpoints are kept on disk only";
    }
    return Status::Ok();
  }
  OGAI_ASSIGN_OR_RETURN(auto caches, ckpt::PeerCopies::ParseCacheList(ctx_.shard_caches));
  ckpt::PeerCopies::Options o;
  o.caches = std::move(caches);
  o.node = ctx_.node_rank;
  o.copies = cc.peer_copies;
  o.token = ctx_.store_token;
  o.local_dir = ctx_.shard_dir;
  OGAI_ASSIGN_OR_RETURN(auto peers, ckpt::PeerCopies::Create(o));
  ckpt_->EnablePeerCopies(std::move(peers));
  return Status::Ok();
}

Status Trainer::OpenMetrics() {
  const auto& tc = cfg_.train;
  if (tc.metrics_file.empty() || !MetricsFile::WrittenBy(tc.metrics_file, ctx_.layout.rank)) return Status::Ok();
  OGAI_ASSIGN_OR_RETURN(metrics_, MetricsFile::Open(tc.metrics_file, ctx_.layout.rank, ctx_.restart_count));
  StartRecord r;
  r.restart = ctx_.restart_count;
  r.layout = ctx_.layout;
  r.grad_accum = tc.grad_accum;
  r.global_batch = tc.global_batch;
  r.resume_step = step_;
  r.resume = ckpt_->resume_info();
  r.started_unix_ms = ctx_.started_unix_ms;
  r.joined_unix_ms = ctx_.joined_unix_ms;
  r.startup_ms = ctx_.startup_ms;
  metrics_->WriteStart(r);
  metrics_->WriteRunInfo(ConfigToYaml(cfg_), DescribeHardware());
  return Status::Ok();
}

void Trainer::OnGradReady(int param) {
  if (!last_micro_) return;
  if (param == wte_ && ctx_.layout.pp > 1) {
    // Sum the tied embedding's gradient over the first and last stage; the DP reduction of
    // its bucket starts once that is done (Step).
    float* g = model_->grad_data() + model_->params()[wte_].offset;
    embed_work_ = ctx_.embed->AllReduce(g, g, static_cast<size_t>(model_->params()[wte_].numel),
                                        comm::DataType::kFloat32, comm::ReduceOp::kSum);
  }
  if (reducer_) reducer_->OnGradReady(param);
}

void Trainer::TakeEmbeddingGrad(const int32_t* tokens, const float* rows, int64_t n) {
  const int64_t C = cfg_.model.d_model;
  const size_t rec = static_cast<size_t>(n + n * C);  // floats per rank
  if (embed_n_ != n) {
    embed_send_ = Buffer(rec * sizeof(float), MemCategory::kComm);
    embed_recv_ = Buffer(rec * sizeof(float) * static_cast<size_t>(ctx_.mesh->dp().size()), MemCategory::kComm);
    embed_n_ = n;
  }
  float* s = embed_send_.as<float>();
  static_assert(sizeof(int32_t) == sizeof(float));
  std::memcpy(s, tokens, sizeof(int32_t) * n);  // the bits travel unchanged (a gather adds nothing)
  std::memcpy(s + n, rows, sizeof(float) * n * C);
  embed_gather_ = ctx_.mesh->dp().AllGather(s, embed_recv_.as<float>(), rec, comm::DataType::kFloat32);
}

Status Trainer::AddGatheredEmbeddingGrad() {
  if (!embed_gather_) return Status::Ok();
  Status st = embed_gather_->Wait();
  embed_gather_.reset();
  if (!st.ok()) return st.WithContext("gathering the token-embedding gradient rows over data parallelism");
  const int64_t n = embed_n_, rec = n + n * cfg_.model.d_model;
  const float* all = embed_recv_.as<float>();
  std::vector<int32_t> tokens(static_cast<size_t>(n));
  for (int r = 0; r < ctx_.mesh->dp().size(); ++r) {
    const float* part = all + r * rec;
    std::memcpy(tokens.data(), part, sizeof(int32_t) * n);
    model_->AddEmbeddingGrad(tokens.data(), part + n, n);
  }
  return Status::Ok();
}

void Trainer::LoadMicro(int micro, int32_t* inputs, int32_t* targets) {
  OGAI_PROFILE(kData);
  const auto& tc = cfg_.train;
  const int64_t first = step_ * tc.global_batch + static_cast<int64_t>(micro) * tc.micro_batch * ctx_.layout.dp +
                        static_cast<int64_t>(ctx_.layout.dp_idx) * tc.micro_batch;
  loader_->GetSamples(first, tc.micro_batch, inputs, targets);
}

void Trainer::BeforeBackward(int micro) {
  last_micro_ = micro == cfg_.train.grad_accum - 1;
  if (last_micro_ && reducer_) reducer_->Arm();
}

Status Trainer::RunMicroBatches(double* loss_sum, double* pp_wait) {
  if (pipeline_) return pipeline_->Run(loss_sum, pp_wait);
  const auto& tc = cfg_.train;
  const float grad_scale = 1.0f / static_cast<float>(static_cast<int64_t>(tc.global_batch) * cfg_.model.seq_len);
  for (int micro = 0; micro < tc.grad_accum; ++micro) {
    LoadMicro(micro, inputs_.data(), targets_.data());
    double s = 0.0;
    OGAI_RETURN_IF_ERROR(model_->Forward(*acts_, inputs_.data(), nullptr, targets_.data(), grad_scale, &s));
    BeforeBackward(micro);
    OGAI_RETURN_IF_ERROR(model_->Backward(*acts_, nullptr, nullptr, micro == 0 && !ZeroSharded()));
    *loss_sum += s;
  }
  return Status::Ok();
}

double Trainer::LocalGradSumSquares() const {
  double s = 0.0;
  for (const auto& r : norm_ranges_) s += kernels::SumSquares(model_->grad_data() + r.first, r.second - r.first);
  return s;
}

Status Trainer::Step(StepStats* stats) {
  const double t0 = Now();
  const auto& L = ctx_.layout;
  const auto& tc = cfg_.train;
  const int64_t T = cfg_.model.seq_len;
  // The first micro-batch's backward writes the gradients afresh, except under ZeRO-1, where
  // the reduce-scatter leaves partial sums outside the owned chunks: clear everything then.
  if (ZeroSharded()) model_->ZeroGrads();
  if (reducer_) reducer_->ResetStats();
  double loss_sum = 0.0, pp_wait = 0.0;
  OGAI_RETURN_IF_ERROR(RunMicroBatches(&loss_sum, &pp_wait));
  last_micro_ = false;
  if (embed_work_) {
    OGAI_PROFILE(kPpComm);
    Status st = embed_work_->Wait();
    embed_work_.reset();
    if (!st.ok()) return st.WithContext("summing the tied embedding gradient over first and last stage");
    if (reducer_) reducer_->MarkReady(wte_);
  }
  double dp_exposed = 0.0;
  if (reducer_) {
    OGAI_RETURN_IF_ERROR(reducer_->Finish());
    dp_exposed = reducer_->stats().exposed_seconds;
    OGAI_RETURN_IF_ERROR(AddGatheredEmbeddingGrad());
  }
  const double tokens = static_cast<double>(tc.global_batch) * T;
  // One world all-reduce carries the loss (from the last stage, TP rank 0), the squared
  // gradient norm and the communication timings.
  double sumsq = LocalGradSumSquares();
  // A scheduler's "checkpoint now and stop" (docs/scheduler.md): rank 0 looks, the flag rides
  // the all-reduce below, so every rank sees it at the same step boundary.
  double preempt = 0.0;
  if (ctx_.control_store != nullptr && L.rank == 0) {
    auto v = ctx_.control_store->TryGet("sched/preempt");
    if (v.ok() && v->has_value()) preempt = 1.0;
  }
  double loss_total = (L.last_stage() && L.tp_idx == 0) ? loss_sum : 0.0;
  double pp_wait_mean = pp_wait, dp_exposed_mean = dp_exposed, dp_exposed_min = dp_exposed;
  if (reducer_ && ctx_.world->size() > 1) {
    float w = static_cast<float>(dp_exposed);
    Status st = ctx_.world->AllReduce(&w, &w, 1, comm::DataType::kFloat32, comm::ReduceOp::kMin)->Wait();
    if (!st.ok()) return st.WithContext("reducing the data-parallel wait times");
    dp_exposed_min = w;
  }
  if (ctx_.world != nullptr && ctx_.world->size() > 1) {
    float v[5] = {static_cast<float>(loss_total), static_cast<float>(sumsq), static_cast<float>(pp_wait),
                  static_cast<float>(dp_exposed), static_cast<float>(preempt)};
    Status st = ctx_.world->AllReduce(v, v, 5, comm::DataType::kFloat32, comm::ReduceOp::kSum)->Wait();
    if (!st.ok()) return st.WithContext("reducing the loss and gradient norm");
    loss_total = v[0];
    sumsq = v[1];
    pp_wait_mean = v[2] / ctx_.world->size();
    dp_exposed_mean = v[3] / ctx_.world->size();
    preempt = v[4];
  }
  const double norm = std::sqrt(sumsq);
  const double lr = optim::LearningRate(tc, step_);
  // [checkpoint 2/3] a save's copy must be done before parameters and moments change; when
  // this step ends in a save, the optimizer writes the snapshot as it updates.
  OGAI_ASSIGN_OR_RETURN(const std::vector<optim::SnapshotTarget>* snapshot, ckpt_->BeforeOptimizerStep(step_ + 1));
  // bf16: the optimizer writes the bf16 weight copy in its pass (not with ZeRO-1, where each
  // rank updates only its shard; the next Forward converts the gathered weights instead).
  uint16_t* bf16 = ZeroSharded() ? nullptr : model_->bf16_param_data();
  opt_->Step(model_->param_data(), model_->grad_data(), lr, optim::ClipScale(norm, tc.grad_clip), step_ + 1,
             /*clear_grads=*/false, bf16, snapshot);
  if (bf16 != nullptr) model_->MarkBf16Current();
  if (ZeroSharded()) OGAI_RETURN_IF_ERROR(reducer_->AllGatherParams(model_->param_data()));
  ++step_;
  // [checkpoint 3/3] save when checkpoint.every_steps (or the last step) says so.
  OGAI_RETURN_IF_ERROR(ckpt_->AfterStep(step_));
  if (preempt > 0 && !cfg_.checkpoint.dir.empty()) {
    OGAI_RETURN_IF_ERROR(ckpt_->SaveAndWait(step_));
    stop_requested_ = true;
    if (is_rank0()) {
      OGAI_LOG(Warn) << "checkpoint requested by the scheduler: step " << step_ << " committed; stopping";
    }
  }
  if (ctx_.on_step) ctx_.on_step(step_);
  const double dt = Now() - t0;
  StepStats s;
  s.step = step_;
  s.loss = loss_total / tokens;
  s.lr = lr;
  s.grad_norm = norm;
  s.seconds = dt;
  s.tokens_per_s = tokens / dt;
  s.model_flops_per_s = flops_per_token_ * tokens / dt;
  s.dp_exposed_s = dp_exposed_mean;
  s.dp_exposed_min_s = dp_exposed_min;
  s.pp_wait_s = pp_wait_mean;
  WriteMetrics(s);
  if (!std::isfinite(s.loss)) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%g", s.loss);
    return Internal(std::string("loss became ") + buf + " at step " + std::to_string(step_) +
                    "; lower train.lr or raise train.warmup");
  }
  if (stats != nullptr) *stats = s;
  return Status::Ok();
}

void Trainer::WriteMetrics(const StepStats& s) {
  if (metrics_ == nullptr) return;
  metrics_->WriteStep(s);
  for (const CommitInfo& c : ckpt_->TakeCommits()) metrics_->WriteCheckpoint(c);
  if (ckpt_->peer_copies_enabled()) metrics_->WritePeerCopy(ckpt_->last_peer_copy());
}

Status Trainer::Evaluate(RunSummary* sum) {
  const auto& L = ctx_.layout;
  EvalOptions o;
  o.batches = cfg_.train.eval_batches;
  o.global_batch = cfg_.train.global_batch;
  o.micro_batch = cfg_.train.micro_batch;
  o.dp_rank = L.dp_idx;
  o.dp_size = L.dp;
  o.world = ctx_.world;
  o.counts_loss = L.tp_idx == 0;
  o.token_bytes = val_token_bytes_.empty() ? nullptr : &val_token_bytes_;
  auto r = EvaluateLoss(*model_, *val_loader_, o);
  if (!r.ok()) return r.status().WithContext("validation at step " + std::to_string(step_));
  sum->evals.push_back({step_, r->loss});
  if (opts_.print && is_rank0()) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "eval step %lld: validation loss %.4f, %.4f bits per byte (%lld tokens, %lld bytes, %.2f s)",
                  static_cast<long long>(step_), r->loss, r->bits_per_byte(), static_cast<long long>(r->tokens),
                  static_cast<long long>(r->bytes), r->seconds);
    Print(buf);
  }
  if (metrics_ != nullptr) metrics_->WriteEval(step_, *r);
  return Status::Ok();
}

Status Trainer::Run(RunSummary* summary) {
  RunSummary sum;
  const double start = Now();
  const int64_t total =
      cfg_.train.stop_after > 0 ? std::min(cfg_.train.stop_after, cfg_.train.steps) : cfg_.train.steps;
  const bool print = opts_.print && is_rank0();
  ConsoleReport console(cfg_.train.steps, total, step_, cfg_.train.log_every, start);
  const int64_t eval_every = cfg_.train.eval_every;
  if (cfg_.train.eval_only) {  // ogai-model eval: one evaluation of the loaded weights
    if (!val_loader_) return InvalidArgument("train.eval_only needs train.eval_every > 0 and data.source: dataset");
    OGAI_RETURN_IF_ERROR(Evaluate(&sum));
    if (summary != nullptr) *summary = std::move(sum);
    return Status::Ok();
  }
  if (val_loader_ && step_ < total) OGAI_RETURN_IF_ERROR(Evaluate(&sum));
  while (step_ < total && !stop_requested_) {
    StepStats s;
    OGAI_RETURN_IF_ERROR(Step(&s));
    if (sum.history.empty()) sum.first_loss = s.loss;
    sum.last_loss = s.loss;
    sum.history.push_back(s);
    if (print) console.OnStep(s, Now());
    if (val_loader_ && (step_ % eval_every == 0 || step_ == total)) OGAI_RETURN_IF_ERROR(Evaluate(&sum));
  }
  sum.steps = static_cast<int64_t>(sum.history.size());
  sum.seconds = Now() - start;
  sum.checkpointing = !cfg_.checkpoint.dir.empty();
  sum.last_checkpoint = ckpt_->last_commit();
  if (sum.last_checkpoint.step == 0 && !ckpt_->resume_info().path.empty()) {
    sum.last_checkpoint = {ckpt_->resume_info().step, ckpt_->resume_info().path, 0};
  }
  if (metrics_ != nullptr) sum.metrics_file = metrics_->path();
  if (print) console.Summary(sum);
  LogRunEnd(sum);
  if (metrics_ != nullptr) {
    int64_t block_elems = 0;  // parameters of the transformer blocks held here
    for (const auto& p : model_->params())
      if (p.layer >= 0) block_elems += p.numel;
    metrics_->WriteMemory(block_elems * 4, GetMemStats());
  }
  if (summary != nullptr) *summary = std::move(sum);
  return Status::Ok();
}

}  // namespace ogai::train
