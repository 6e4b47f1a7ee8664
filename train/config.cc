#include "train/config.h"

#include <algorithm>

#include "core/config_schema.h"
#include "core/file_io.h"

namespace ogai {
namespace {

// ---- the schema: every train.yaml key, its type, default (Config{}), range and help ----

// Upper limits of sizes: far above any model this runtime can train, low enough that the
// size arithmetic below stays in 64 bits and nonsense is refused before anything is
// allocated (whether a layout fits the node's memory is train/memory_estimate.h's check).
constexpr double kMaxLayers = 4096;
constexpr double kMaxHeads = 4096;
constexpr double kMaxDModel = 1 << 17;
constexpr double kMaxVocab = 1 << 24;
constexpr double kMaxSeqLen = 1 << 20;
constexpr double kMaxDemoTokens = 1e10;
constexpr double kMaxMicroBatch = 1 << 16;
constexpr double kMaxGlobalBatch = 1 << 30;
constexpr double kMaxGradAccum = 1 << 16;
constexpr double kMaxParallel = 1 << 16;

std::vector<config::Field> Fields() {
  using C = Config;
  using config::MakeField;
  using config::Range;
  const Range pos = config::kPositive;
  const Range nonneg = config::kNonNegative;
  std::vector<config::Field> f;
  // model
  f.push_back(MakeField("model.layers", &C::model, &ModelConfig::layers, "transformer blocks", Range{1, kMaxLayers}));
  f.push_back(
      MakeField("model.heads", &C::model, &ModelConfig::heads, "attention heads per block", Range{1, kMaxHeads}));
  f.push_back(MakeField("model.d_model", &C::model, &ModelConfig::d_model, "hidden size", Range{1, kMaxDModel}));
  f.push_back(MakeField("model.vocab", &C::model, &ModelConfig::vocab, "vocabulary size (256 for the byte-level demo)",
                        Range{1, kMaxVocab}));
  f.push_back(
      MakeField("model.seq_len", &C::model, &ModelConfig::seq_len, "context length in tokens", Range{1, kMaxSeqLen}));
  f.push_back(
      MakeField("model.init_std", &C::model, &ModelConfig::init_std, "std of the normal weight init", Range{0, 1}));
  f.push_back(MakeField("model.device", &C::model, &ModelConfig::device,
                        "where the model runs (cuda: bf16 with fp32 master weights; docs/gpu.md)", {},
                        {"cpu", "cuda"}));
  // data
  f.push_back(MakeField("data.source", &C::data, &DataConfig::source, "where tokens come from", {},
                        {"demo", "shards", "dataset"}));
  f.push_back(MakeField("data.paths", &C::data, &DataConfig::paths, "token shard files (source: shards)"));
  f.push_back(MakeField("data.dataset", &C::data, &DataConfig::dataset,
                        "a dataset folder made by `ogai-data prepare` (source: dataset)"));
  f.push_back(MakeField("data.demo_tokens", &C::data, &DataConfig::demo_tokens,
                        "size of the generated demo corpus in tokens", Range{1024, kMaxDemoTokens}));
  f.push_back(MakeField("data.demo_seed", &C::data, &DataConfig::demo_seed, "seed of the demo corpus generator"));
  // train
  f.push_back(MakeField("train.steps", &C::train, &TrainConfig::steps, "optimizer steps", pos));
  f.push_back(MakeField(
      "train.stop_after", &C::train, &TrainConfig::stop_after,
      "stop after this step, saving a checkpoint (0: at train.steps); the schedule still spans train.steps", nonneg));
  f.push_back(MakeField("train.micro_batch", &C::train, &TrainConfig::micro_batch, "sequences per micro-batch per rank",
                        Range{1, kMaxMicroBatch}));
  f.push_back(MakeField("train.global_batch", &C::train, &TrainConfig::global_batch,
                        "sequences per optimizer step (0: derived)", Range{0, kMaxGlobalBatch}));
  f.push_back(MakeField("train.grad_accum", &C::train, &TrainConfig::grad_accum,
                        "micro-batches per step per rank (0: derived)", Range{0, kMaxGradAccum}));
  f.push_back(MakeField("train.lr", &C::train, &TrainConfig::lr, "peak learning rate", Range{0, 10}));
  f.push_back(
      MakeField("train.min_lr", &C::train, &TrainConfig::min_lr, "final learning rate (0: lr/10)", Range{0, 10}));
  f.push_back(MakeField("train.warmup", &C::train, &TrainConfig::warmup, "linear warm-up steps", nonneg));
  f.push_back(MakeField("train.schedule", &C::train, &TrainConfig::schedule, "learning-rate decay after warm-up", {},
                        {"cosine", "linear", "constant"}));
  f.push_back(MakeField("train.weight_decay", &C::train, &TrainConfig::weight_decay, "AdamW decoupled weight decay",
                        Range{0, 1}));
  f.push_back(
      MakeField("train.grad_clip", &C::train, &TrainConfig::grad_clip, "global gradient-norm clip (0: off)", nonneg));
  f.push_back(MakeField("train.beta1", &C::train, &TrainConfig::beta1, "AdamW beta1", Range{0, 0.999999}));
  f.push_back(MakeField("train.beta2", &C::train, &TrainConfig::beta2, "AdamW beta2", Range{0, 0.999999}));
  f.push_back(MakeField("train.eps", &C::train, &TrainConfig::eps, "AdamW epsilon", Range{0, 1}));
  f.push_back(MakeField("train.seed", &C::train, &TrainConfig::seed, "seed for init and data order"));
  f.push_back(MakeField("train.log_every", &C::train, &TrainConfig::log_every, "print a step line every N steps", pos));
  f.push_back(MakeField("train.precision", &C::train, &TrainConfig::precision,
                        "GEMM precision: fp32, or bf16 mixed precision (bf16 operands, fp32 accumulation, "
                        "fp32 master weights and optimizer)",
                        {}, {"fp32", "bf16"}));
  f.push_back(MakeField("train.recompute", &C::train, &TrainConfig::recompute,
                        "activation recompute: none, selective (LayerNorm and GELU outputs), full (whole blocks)", {},
                        {"none", "selective", "full"}));
  f.push_back(MakeField("train.metrics_file", &C::train, &TrainConfig::metrics_file,
                        "one JSON line per step ({rank}: a file per rank, else rank 0 alone writes); restarts append"));
  f.push_back(
      MakeField("train.init_from", &C::train, &TrainConfig::init_from,
                "start from these weights (NAME, NAME@VERSION or NAME@ALIAS in the model registry, or a checkpoint "
                "path); fresh optimizer and schedule"));
  f.push_back(MakeField("train.eval_every", &C::train, &TrainConfig::eval_every,
                        "validation loss every N steps and at the end (0: never; needs data.source: dataset)", nonneg));
  f.push_back(MakeField("train.eval_batches", &C::train, &TrainConfig::eval_batches,
                        "global batches of the validation split per evaluation", pos));
  f.push_back(MakeField("train.eval_only", &C::train, &TrainConfig::eval_only,
                        "evaluate once (needs train.eval_every > 0) and stop: no training (ogai-model eval)"));
  // parallel
  f.push_back(
      MakeField("parallel.dp", &C::parallel, &ParallelConfig::dp, "data-parallel size", Range{1, kMaxParallel}));
  f.push_back(
      MakeField("parallel.tp", &C::parallel, &ParallelConfig::tp, "tensor-parallel size", Range{1, kMaxParallel}));
  f.push_back(
      MakeField("parallel.pp", &C::parallel, &ParallelConfig::pp, "pipeline-parallel size", Range{1, kMaxParallel}));
  f.push_back(MakeField("parallel.zero", &C::parallel, &ParallelConfig::zero, "ZeRO stage (0 or 1)", Range{0, 1}));
  f.push_back(MakeField("parallel.bucket_mb", &C::parallel, &ParallelConfig::bucket_mb,
                        "DP gradient bucket size in MiB", Range{0.001, 1e6}));
  f.push_back(
      MakeField("parallel.overlap", &C::parallel, &ParallelConfig::overlap, "overlap DP all-reduce with backward"));
  f.push_back(MakeField("parallel.pp_layers", &C::parallel, &ParallelConfig::pp_layers,
                        "layers per pipeline stage (empty: split by modelled cost, the head counted)"));
  f.push_back(MakeField("parallel.backend", &C::parallel, &ParallelConfig::backend, "collective backend", {},
                        {"auto", "ucx", "mpi", "nccl"}));
  f.push_back(MakeField("parallel.timeout_s", &C::parallel, &ParallelConfig::timeout_s, "collective timeout in seconds",
                        Range{0.001, 1e6}));
  // checkpoint
  f.push_back(MakeField("checkpoint.dir", &C::checkpoint, &CheckpointConfig::dir,
                        "checkpoint directory (empty: no checkpoints)"));
  f.push_back(MakeField("checkpoint.every_steps", &C::checkpoint, &CheckpointConfig::every_steps,
                        "save every N steps (0: only at the end)", nonneg));
  f.push_back(MakeField("checkpoint.keep_last", &C::checkpoint, &CheckpointConfig::keep_last,
                        "committed checkpoints to keep", pos));
  f.push_back(
      MakeField("checkpoint.async", &C::checkpoint, &CheckpointConfig::async, "write shards in the background"));
  f.push_back(
      MakeField("checkpoint.resume", &C::checkpoint, &CheckpointConfig::resume, "auto | none | PATH of a checkpoint"));
  f.push_back(MakeField("checkpoint.strict", &C::checkpoint, &CheckpointConfig::strict,
                        "a corrupt checkpoint on resume is an error, not a fallback"));
  f.push_back(MakeField("checkpoint.peer_copies", &C::checkpoint, &CheckpointConfig::peer_copies,
                        "keep each shard in memory on its node and on N more nodes (docs/recovery.md)", Range{0, 1}));
  f.push_back(MakeField("checkpoint.staging_mb", &C::checkpoint, &CheckpointConfig::staging_mb,
                        "host staging memory bound in MiB (0: one snapshot)", nonneg));
  f.push_back(MakeField("checkpoint.write_mb_per_s", &C::checkpoint, &CheckpointConfig::write_mb_per_s,
                        "each rank's background shard writes at most this many MB/s (0: as fast as the disk)", nonneg));
  // launch
  f.push_back(MakeField("launch.np", &C::launch, &LaunchConfig::np, "number of ranks (0: from hosts, else 1)", nonneg));
  f.push_back(MakeField("launch.nproc_per_node", &C::launch, &LaunchConfig::nproc_per_node,
                        "ranks per node (0: from slots)", nonneg));
  f.push_back(MakeField("launch.nnodes", &C::launch, &LaunchConfig::nnodes, "N or MIN:MAX nodes"));
  f.push_back(MakeField("launch.hosts", &C::launch, &LaunchConfig::hosts, "h1:slots,h2:slots like mpirun -H"));
  f.push_back(MakeField("launch.hostfile", &C::launch, &LaunchConfig::hostfile, "Open MPI hostfile"));
  f.push_back(MakeField("launch.env", &C::launch, &LaunchConfig::env, "VAR or VAR=value exported to ranks, like -x"));
  f.push_back(MakeField("launch.max_restarts", &C::launch, &LaunchConfig::max_restarts,
                        "group restarts after a failure", nonneg));
  f.push_back(
      MakeField("launch.master_addr", &C::launch, &LaunchConfig::master_addr, "store address (default: this host)"));
  f.push_back(MakeField("launch.master_port", &C::launch, &LaunchConfig::master_port, "store port (0: a free one)",
                        Range{0, 65535}));
  f.push_back(
      MakeField("launch.grace", &C::launch, &LaunchConfig::grace, "seconds between SIGTERM and SIGKILL", nonneg));
  f.push_back(MakeField("launch.heartbeat_timeout", &C::launch, &LaunchConfig::heartbeat_timeout,
                        "seconds without progress before a rank counts as hung", Range{0.1, 1e6}));
  f.push_back(MakeField("launch.rejoin_timeout", &C::launch, &LaunchConfig::rejoin_timeout,
                        "seconds to wait for a lost node before shrinking", nonneg));
  f.push_back(MakeField("launch.tag_output", &C::launch, &LaunchConfig::tag_output, "prefix output lines with [rank]"));
  f.push_back(MakeField("launch.timestamp_output", &C::launch, &LaunchConfig::timestamp_output,
                        "prefix output lines with a time"));
  f.push_back(MakeField("launch.output_filename", &C::launch, &LaunchConfig::output_filename,
                        "also write DIR/rank.N/stdout|stderr"));
  f.push_back(
      MakeField("launch.oversubscribe", &C::launch, &LaunchConfig::oversubscribe, "allow more ranks than slots"));
  f.push_back(
      MakeField("launch.map_by", &C::launch, &LaunchConfig::map_by, "rank placement", {}, {"core", "slot", "node"}));
  f.push_back(MakeField("launch.bind_to", &C::launch, &LaunchConfig::bind_to, "CPU binding", {}, {"core", "none"}));
  return f;
}

const config::Schema& Schema() {
  static const config::Schema schema(
      Fields(), config::SchemaText{"a train.yaml must be a mapping of sections (model:, data:, train:, ...)",
                                   "; see docs/config.md or `ogai-run --help-config` for the valid keys"});
  return schema;
}

// ---- relations between values; messages name keys as {section.key} ----

Status CheckRelations(Config& cfg) {
  auto& m = cfg.model;
  if (m.d_model % m.heads != 0) {
    return InvalidArgument("{model.heads} = " + std::to_string(m.heads) + " does not divide {model.d_model} = " +
                           std::to_string(m.d_model) + "; choose heads so that d_model / heads is a whole head size");
  }
  if (cfg.data.source == "shards" && cfg.data.paths.empty()) {
    return InvalidArgument(
        "{data.source} is 'shards' but {data.paths} is empty; list the token shard files, or use source: demo");
  }
  if (cfg.data.source == "dataset" && cfg.data.dataset.empty()) {
    return InvalidArgument(
        "{data.source} is 'dataset' but {data.dataset} is empty; give the folder `ogai-data prepare` wrote");
  }
  if (cfg.train.eval_every > 0 && cfg.data.source != "dataset") {
    return InvalidArgument(
        "{train.eval_every} needs a validation split: set {data.source} to dataset (prepared "
        "with `ogai-data prepare`), or eval_every: 0");
  }
  if (cfg.train.eval_every > 0 && cfg.parallel.pp > 1) {
    return InvalidArgument(
        "{train.eval_every} is not supported with {parallel.pp} > 1 yet (the validation pass "
        "runs the whole model on each rank); set eval_every: 0 or pp: 1");
  }
  if (cfg.data.source == "demo" && m.vocab < 256) {
    return InvalidArgument("{model.vocab} = " + std::to_string(m.vocab) +
                           " is too small for the byte-level demo corpus (needs 256); set vocab: 256 or more");
  }
  auto& t = cfg.train;
  // Batch arithmetic in 64 bits: each factor is bounded by the schema, so no product here
  // overflows; the derived values are then checked against the same bounds.
  const int64_t dp = cfg.parallel.dp;
  const int64_t per_step = int64_t{t.micro_batch} * dp;
  const std::string per_step_s = std::to_string(per_step);
  int64_t global = t.global_batch, accum = t.grad_accum;
  if (global == 0 && accum == 0) {
    accum = 1;
    global = per_step;
  } else if (global == 0) {
    global = per_step * accum;
  } else if (accum == 0) {
    if (global % per_step != 0) {
      return InvalidArgument("{train.global_batch} = " + std::to_string(global) +
                             " is not a multiple of {train.micro_batch} x {parallel.dp} = " + per_step_s +
                             "; make global_batch a multiple of micro_batch * dp");
    }
    accum = global / per_step;
  } else if (global != per_step * accum) {
    return InvalidArgument("{train.global_batch} = " + std::to_string(global) +
                           " but {train.micro_batch} x {train.grad_accum} x {parallel.dp} = " +
                           std::to_string(per_step * accum) + "; give two of the three and let ogai derive the third");
  }
  if (global > static_cast<int64_t>(kMaxGlobalBatch)) {
    return InvalidArgument("{train.micro_batch} x {train.grad_accum} x {parallel.dp} = " + std::to_string(global) +
                           " sequences per step is above the limit of " +
                           std::to_string(static_cast<int64_t>(kMaxGlobalBatch)) +
                           "; lower micro_batch, grad_accum or dp");
  }
  if (accum > static_cast<int64_t>(kMaxGradAccum)) {
    return InvalidArgument("{train.global_batch} / ({train.micro_batch} x {parallel.dp}) = " + std::to_string(accum) +
                           " micro-batches per step is above the limit of " +
                           std::to_string(static_cast<int64_t>(kMaxGradAccum)) +
                           "; raise micro_batch or dp, or lower global_batch");
  }
  t.global_batch = static_cast<int>(global);
  t.grad_accum = static_cast<int>(accum);
  const int64_t world = dp * cfg.parallel.tp * cfg.parallel.pp;
  if (world > static_cast<int64_t>(kMaxParallel)) {
    return InvalidArgument("{parallel.dp} x {parallel.tp} x {parallel.pp} = " + std::to_string(world) +
                           " ranks is above the limit of " + std::to_string(static_cast<int64_t>(kMaxParallel)) +
                           "; lower dp, tp or pp");
  }
  if (t.min_lr > t.lr) {
    return InvalidArgument("{train.min_lr} = " + config::RenderNumber(t.min_lr) + " is above {train.lr} = " +
                           config::RenderNumber(t.lr) + "; the schedule decays from lr down to min_lr");
  }
  if (cfg.parallel.backend == "nccl" && m.device != "cuda") {
    return InvalidArgument("{parallel.backend} is 'nccl' but {model.device} is '" + m.device +
                           "': NCCL reduces GPU buffers and this model's live in host memory; set model.device: cuda "
                           "(docs/gpu.md), or use backend ucx, mpi or auto");
  }
  if (!cfg.launch.nnodes.empty()) {
    const std::string& n = cfg.launch.nnodes;
    bool ok = !n.empty() && n.find_first_not_of("0123456789:") == std::string::npos &&
              std::count(n.begin(), n.end(), ':') <= 1 && n.front() != ':' && n.back() != ':';
    if (!ok) {
      return InvalidArgument("{launch.nnodes} = '" + n + "' must be N or MIN:MAX, e.g. 2 or 1:4");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateConfig(Config& cfg) {
  Status st = CheckRelations(cfg);
  if (st.ok()) return st;
  return Status(st.code(), config::StripKeyBraces(st.message()));
}

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& name,
                           const std::vector<std::string>& overrides) {
  Config cfg;
  cfg.source_path = name;
  OGAI_RETURN_IF_ERROR(Schema().Parse(yaml_text, name, overrides, &cfg, [&cfg] { return CheckRelations(cfg); }));
  return cfg;
}

Result<Config> LoadConfig(const std::string& path, const std::vector<std::string>& overrides) {
  auto yaml = ReadFile(path);
  if (!yaml.ok() && yaml.status().code() == Code::kNotFound) {
    return NotFound("cannot open config file '" + path +
                    "': no such file or not readable; pass the path of a train.yaml (see examples/)");
  }
  if (!yaml.ok()) return yaml.status();
  OGAI_RETURN_IF_ERROR(config::CheckDocumentText(*yaml, path));
  return ParseConfig(*yaml, path, overrides);
}

std::string ConfigToYaml(const Config& cfg) { return Schema().ToYaml(&cfg); }

std::string ConfigSchemaHelp() {
  const Config defaults;
  return Schema().Help(&defaults);
}

bool IsConfigOverride(const std::string& s) { return config::IsOverride(s); }

}  // namespace ogai
