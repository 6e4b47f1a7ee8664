#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

namespace ogai {
namespace {

// Relations between values; messages name keys as {section.key}.
Status CheckRelations(Config& cfg);

// ---- value parsing ------------------------------------------------------------
// Each returns "" on success or a description of what was expected.

std::string ParseValue(const YAML::Node& n, std::string& out) {
  if (!n.IsScalar()) return "a string";
  out = n.Scalar();
  return "";
}

std::string ParseValue(const YAML::Node& n, bool& out) {
  if (!n.IsScalar()) return "true or false";
  try {
    out = n.as<bool>();
  } catch (const YAML::Exception&) {
    return "true or false";
  }
  return "";
}

std::string ParseInt64(const YAML::Node& n, int64_t& out) {
  if (!n.IsScalar()) return "an integer";
  const std::string& s = n.Scalar();
  try {
    size_t pos = 0;
    long long v = std::stoll(s, &pos, 10);
    if (pos != s.size()) {
      // Accept integral floats written like 1e6 or 2.0.
      double d = std::stod(s, &pos);
      if (pos != s.size() || d != std::floor(d) || std::fabs(d) > 9e18) return "an integer";
      v = static_cast<long long>(d);
    }
    out = v;
  } catch (const std::exception&) {
    return "an integer";
  }
  return "";
}

std::string ParseValue(const YAML::Node& n, int64_t& out) { return ParseInt64(n, out); }

std::string ParseValue(const YAML::Node& n, int& out) {
  int64_t v = 0;
  std::string e = ParseInt64(n, v);
  if (!e.empty()) return e;
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    return "an integer that fits in 32 bits";
  out = static_cast<int>(v);
  return "";
}

std::string ParseValue(const YAML::Node& n, uint64_t& out) {
  int64_t v = 0;
  std::string e = ParseInt64(n, v);
  if (!e.empty() || v < 0) return "a non-negative integer";
  out = static_cast<uint64_t>(v);
  return "";
}

std::string ParseValue(const YAML::Node& n, double& out) {
  if (!n.IsScalar()) return "a number";
  const std::string& s = n.Scalar();
  try {
    size_t pos = 0;
    out = std::stod(s, &pos);
    if (pos != s.size() || !std::isfinite(out)) return "a finite number";
  } catch (const std::exception&) {
    return "a number";
  }
  return "";
}

template <typename T>
std::string ParseList(const YAML::Node& n, std::vector<T>& out, const char* what) {
  out.clear();
  if (n.IsNull()) return "";
  if (n.IsScalar()) {  // a single value is a list of one
    T v{};
    if (!ParseValue(n, v).empty()) return what;
    out.push_back(v);
    return "";
  }
  if (!n.IsSequence()) return what;
  for (const auto& item : n) {
    T v{};
    if (!ParseValue(item, v).empty()) return what;
    out.push_back(v);
  }
  return "";
}
std::string ParseValue(const YAML::Node& n, std::vector<std::string>& out) {
  return ParseList(n, out, "a list of strings");
}
std::string ParseValue(const YAML::Node& n, std::vector<int>& out) {
  return ParseList(n, out, "a list of integers");
}

// ---- value rendering ----------------------------------------------------------

std::string Render(const std::string& v) {
  YAML::Emitter e;
  e << YAML::DoubleQuoted << v;
  return e.c_str();
}
std::string Render(bool v) { return v ? "true" : "false"; }
std::string Render(int v) { return std::to_string(v); }
std::string Render(int64_t v) { return std::to_string(v); }
std::string Render(uint64_t v) { return std::to_string(v); }
std::string Render(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  std::string s = os.str();
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}
template <typename T>
std::string Render(const std::vector<T>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += Render(v[i]);
  }
  return s + "]";
}

const char* TypeName(const std::string&) { return "string"; }
const char* TypeName(bool) { return "bool"; }
const char* TypeName(int) { return "int"; }
const char* TypeName(int64_t) { return "int"; }
const char* TypeName(uint64_t) { return "int"; }
const char* TypeName(double) { return "float"; }
const char* TypeName(const std::vector<std::string>&) { return "list of strings"; }
const char* TypeName(const std::vector<int>&) { return "list of ints"; }

// ---- the schema ---------------------------------------------------------------

struct Field {
  std::string key;   // "train.steps"
  std::string type;  // for help
  // Parses `n` into cfg; returns "" or what was expected (type, range or choice).
  std::function<std::string(Config&, const YAML::Node&)> set;
  std::function<std::string(const Config&)> get;
  std::string help;
};

struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
};

std::string FormatNum(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

template <typename S, typename T>
Field MakeField(std::string key, S Config::*section, T S::*member, std::string help,
                Range range = {}, std::vector<std::string> choices = {}) {
  Field f;
  f.key = std::move(key);
  f.type = TypeName(T{});
  f.help = std::move(help);
  f.set = [section, member, range, choices](Config& c, const YAML::Node& n) -> std::string {
    T v{};
    std::string e = ParseValue(n, v);
    if (!e.empty()) return e;
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      double d = static_cast<double>(v);
      if (d < range.lo || d > range.hi) {
        std::string want = "a value";
        if (std::isfinite(range.lo)) want += " >= " + FormatNum(range.lo);
        if (std::isfinite(range.lo) && std::isfinite(range.hi)) want += " and";
        if (std::isfinite(range.hi)) want += " <= " + FormatNum(range.hi);
        return want;
      }
    }
    if constexpr (std::is_same_v<T, std::string>) {
      if (!choices.empty() &&
          std::find(choices.begin(), choices.end(), v) == choices.end()) {
        std::string want = "one of";
        for (size_t i = 0; i < choices.size(); ++i) want += (i ? ", " : " ") + choices[i];
        return want;
      }
    }
    (c.*section).*member = std::move(v);
    return "";
  };
  f.get = [section, member](const Config& c) { return Render((c.*section).*member); };
  if (!choices.empty()) {
    f.type = "";
    for (size_t i = 0; i < choices.size(); ++i) f.type += (i ? "|" : "") + choices[i];
  }
  return f;
}

const std::vector<Field>& Schema() {
  static const std::vector<Field> fields = [] {
    using C = Config;
    const Range pos{1, std::numeric_limits<double>::infinity()};
    const Range nonneg{0, std::numeric_limits<double>::infinity()};
    std::vector<Field> f;
    // model
    f.push_back(MakeField("model.layers", &C::model, &ModelConfig::layers, "transformer blocks", pos));
    f.push_back(MakeField("model.heads", &C::model, &ModelConfig::heads, "attention heads per block", pos));
    f.push_back(MakeField("model.d_model", &C::model, &ModelConfig::d_model, "hidden size", pos));
    f.push_back(MakeField("model.vocab", &C::model, &ModelConfig::vocab, "vocabulary size (256 for the byte-level demo)", pos));
    f.push_back(MakeField("model.seq_len", &C::model, &ModelConfig::seq_len, "context length in tokens", pos));
    f.push_back(MakeField("model.init_std", &C::model, &ModelConfig::init_std, "std of the normal weight init", Range{0, 1}));
    // data
    f.push_back(MakeField("data.source", &C::data, &DataConfig::source, "where tokens come from", {}, {"demo", "shards"}));
    f.push_back(MakeField("data.paths", &C::data, &DataConfig::paths, "token shard files (source: shards)"));
    f.push_back(MakeField("data.demo_tokens", &C::data, &DataConfig::demo_tokens, "size of the generated demo corpus in tokens", Range{1024, 1e10}));
    f.push_back(MakeField("data.demo_seed", &C::data, &DataConfig::demo_seed, "seed of the demo corpus generator"));
    // train
    f.push_back(MakeField("train.steps", &C::train, &TrainConfig::steps, "optimizer steps", pos));
    f.push_back(MakeField("train.stop_after", &C::train, &TrainConfig::stop_after, "stop after this step, saving a checkpoint (0: at train.steps); the schedule still spans train.steps", nonneg));
    f.push_back(MakeField("train.micro_batch", &C::train, &TrainConfig::micro_batch, "sequences per micro-batch per rank", pos));
    f.push_back(MakeField("train.global_batch", &C::train, &TrainConfig::global_batch, "sequences per optimizer step (0: derived)", nonneg));
    f.push_back(MakeField("train.grad_accum", &C::train, &TrainConfig::grad_accum, "micro-batches per step per rank (0: derived)", nonneg));
    f.push_back(MakeField("train.lr", &C::train, &TrainConfig::lr, "peak learning rate", Range{0, 10}));
    f.push_back(MakeField("train.min_lr", &C::train, &TrainConfig::min_lr, "final learning rate (0: lr/10)", Range{0, 10}));
    f.push_back(MakeField("train.warmup", &C::train, &TrainConfig::warmup, "linear warm-up steps", nonneg));
    f.push_back(MakeField("train.schedule", &C::train, &TrainConfig::schedule, "learning-rate decay after warm-up", {}, {"cosine", "linear", "constant"}));
    f.push_back(MakeField("train.weight_decay", &C::train, &TrainConfig::weight_decay, "AdamW decoupled weight decay", Range{0, 1}));
    f.push_back(MakeField("train.grad_clip", &C::train, &TrainConfig::grad_clip, "global gradient-norm clip (0: off)", nonneg));
    f.push_back(MakeField("train.beta1", &C::train, &TrainConfig::beta1, "AdamW beta1", Range{0, 0.999999}));
    f.push_back(MakeField("train.beta2", &C::train, &TrainConfig::beta2, "AdamW beta2", Range{0, 0.999999}));
    f.push_back(MakeField("train.eps", &C::train, &TrainConfig::eps, "AdamW epsilon", Range{0, 1}));
    f.push_back(MakeField("train.seed", &C::train, &TrainConfig::seed, "seed for init and data order"));
    f.push_back(MakeField("train.log_every", &C::train, &TrainConfig::log_every, "print a step line every N steps", pos));
    f.push_back(MakeField("train.metrics_file", &C::train, &TrainConfig::metrics_file, "one JSON line per step ({rank} = the rank); restarts append"));
    // parallel
    f.push_back(MakeField("parallel.dp", &C::parallel, &ParallelConfig::dp, "data-parallel size", pos));
    f.push_back(MakeField("parallel.tp", &C::parallel, &ParallelConfig::tp, "tensor-parallel size", pos));
    f.push_back(MakeField("parallel.pp", &C::parallel, &ParallelConfig::pp, "pipeline-parallel size", pos));
    f.push_back(MakeField("parallel.zero", &C::parallel, &ParallelConfig::zero, "ZeRO stage (0 or 1)", Range{0, 1}));
    f.push_back(MakeField("parallel.bucket_mb", &C::parallel, &ParallelConfig::bucket_mb, "DP gradient bucket size in MiB", Range{0.001, 1e6}));
    f.push_back(MakeField("parallel.overlap", &C::parallel, &ParallelConfig::overlap, "overlap DP all-reduce with backward"));
    f.push_back(MakeField("parallel.pp_layers", &C::parallel, &ParallelConfig::pp_layers, "layers per pipeline stage (empty: balanced)"));
    f.push_back(MakeField("parallel.backend", &C::parallel, &ParallelConfig::backend, "collective backend", {}, {"auto", "ucx", "mpi", "nccl"}));
    f.push_back(MakeField("parallel.timeout_s", &C::parallel, &ParallelConfig::timeout_s, "collective timeout in seconds", Range{0.001, 1e6}));
    // checkpoint
    f.push_back(MakeField("checkpoint.dir", &C::checkpoint, &CheckpointConfig::dir, "checkpoint directory (empty: no checkpoints)"));
    f.push_back(MakeField("checkpoint.every_steps", &C::checkpoint, &CheckpointConfig::every_steps, "save every N steps (0: only at the end)", nonneg));
    f.push_back(MakeField("checkpoint.keep_last", &C::checkpoint, &CheckpointConfig::keep_last, "committed checkpoints to keep", pos));
    f.push_back(MakeField("checkpoint.async", &C::checkpoint, &CheckpointConfig::async, "write shards in the background"));
    f.push_back(MakeField("checkpoint.resume", &C::checkpoint, &CheckpointConfig::resume, "auto | none | PATH of a checkpoint"));
    f.push_back(MakeField("checkpoint.strict", &C::checkpoint, &CheckpointConfig::strict, "a corrupt checkpoint on resume is an error, not a fallback"));
    f.push_back(MakeField("checkpoint.peer_copies", &C::checkpoint, &CheckpointConfig::peer_copies, "keep each shard in memory on its node and on N more nodes (docs/recovery.md)", Range{0, 1}));
    f.push_back(MakeField("checkpoint.staging_mb", &C::checkpoint, &CheckpointConfig::staging_mb, "host staging memory bound in MiB (0: one snapshot)", nonneg));
    // launch
    f.push_back(MakeField("launch.np", &C::launch, &LaunchConfig::np, "number of ranks (0: from hosts, else 1)", nonneg));
    f.push_back(MakeField("launch.nproc_per_node", &C::launch, &LaunchConfig::nproc_per_node, "ranks per node (0: from slots)", nonneg));
    f.push_back(MakeField("launch.nnodes", &C::launch, &LaunchConfig::nnodes, "N or MIN:MAX nodes"));
    f.push_back(MakeField("launch.hosts", &C::launch, &LaunchConfig::hosts, "h1:slots,h2:slots like mpirun -H"));
    f.push_back(MakeField("launch.hostfile", &C::launch, &LaunchConfig::hostfile, "Open MPI hostfile"));
    f.push_back(MakeField("launch.env", &C::launch, &LaunchConfig::env, "VAR or VAR=value exported to ranks, like -x"));
    f.push_back(MakeField("launch.max_restarts", &C::launch, &LaunchConfig::max_restarts, "group restarts after a failure", nonneg));
    f.push_back(MakeField("launch.master_addr", &C::launch, &LaunchConfig::master_addr, "store address (default: this host)"));
    f.push_back(MakeField("launch.master_port", &C::launch, &LaunchConfig::master_port, "store port (0: a free one)", Range{0, 65535}));
    f.push_back(MakeField("launch.grace", &C::launch, &LaunchConfig::grace, "seconds between SIGTERM and SIGKILL", nonneg));
    f.push_back(MakeField("launch.heartbeat_timeout", &C::launch, &LaunchConfig::heartbeat_timeout, "seconds without progress before a rank counts as hung", Range{0.1, 1e6}));
    f.push_back(MakeField("launch.rejoin_timeout", &C::launch, &LaunchConfig::rejoin_timeout, "seconds to wait for a lost node before shrinking", nonneg));
    f.push_back(MakeField("launch.tag_output", &C::launch, &LaunchConfig::tag_output, "prefix output lines with [rank]"));
    f.push_back(MakeField("launch.timestamp_output", &C::launch, &LaunchConfig::timestamp_output, "prefix output lines with a time"));
    f.push_back(MakeField("launch.output_filename", &C::launch, &LaunchConfig::output_filename, "also write DIR/rank.N/stdout|stderr"));
    f.push_back(MakeField("launch.oversubscribe", &C::launch, &LaunchConfig::oversubscribe, "allow more ranks than slots"));
    f.push_back(MakeField("launch.map_by", &C::launch, &LaunchConfig::map_by, "rank placement", {}, {"core", "slot", "node"}));
    f.push_back(MakeField("launch.bind_to", &C::launch, &LaunchConfig::bind_to, "CPU binding", {}, {"core", "none"}));
    return f;
  }();
  return fields;
}

const Field* FindField(const std::string& key) {
  for (const auto& f : Schema())
    if (f.key == key) return &f;
  return nullptr;
}

bool IsSection(const std::string& prefix) {
  std::string p = prefix + ".";
  for (const auto& f : Schema())
    if (f.key.compare(0, p.size(), p) == 0) return true;
  return false;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The nearest known key (full path) to `key`, or "" if nothing is close.
std::string Suggest(const std::string& key) {
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  auto dot = key.rfind('.');
  std::string leaf = dot == std::string::npos ? key : key.substr(dot + 1);
  for (const auto& f : Schema()) {
    size_t d = EditDistance(key, f.key);
    auto fdot = f.key.rfind('.');
    // A right leaf in the wrong section is a near miss too.
    if (f.key.substr(fdot + 1) == leaf) d = std::min<size_t>(d, 2);
    if (d < best_d) {
      best_d = d;
      best = f.key;
    }
  }
  // Sections too ("trian" -> "train").
  for (const char* s : {"model", "data", "train", "parallel", "checkpoint", "launch"}) {
    size_t d = EditDistance(key, s);
    if (d < best_d) {
      best_d = d;
      best = s;
    }
  }
  size_t limit = std::max<size_t>(2, key.size() / 3);
  return best_d <= limit ? best : "";
}

struct Parser {
  std::string name;                                   // file name for messages
  std::map<std::string, int> lines;                   // key -> 1-based line
  std::map<std::string, std::string> from_override;   // key -> "k=v"

  std::string Where(const std::string& key, const YAML::Mark& mark) const {
    auto it = from_override.find(key);
    if (it != from_override.end()) return "command-line override '" + it->second + "'";
    if (mark.is_null()) return name;
    return name + ":" + std::to_string(mark.line + 1);
  }

  std::string WhereKey(const std::string& key) const {
    auto it = from_override.find(key);
    if (it != from_override.end()) return "command-line override '" + it->second + "'";
    auto l = lines.find(key);
    if (l == lines.end()) return name + " (default value)";
    return name + ":" + std::to_string(l->second);
  }

  Status Walk(const YAML::Node& node, const std::string& prefix, Config& cfg) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node& k = it->first;
      const YAML::Node& v = it->second;
      std::string kname = k.IsScalar() ? k.Scalar() : "?";
      std::string path = prefix.empty() ? kname : prefix + "." + kname;
      if (!k.IsScalar()) {
        return InvalidArgument(Where(path, k.Mark()) + ": a key must be a plain name");
      }
      if (const Field* f = FindField(path)) {
        if (!v.Mark().is_null()) lines[path] = v.Mark().line + 1;
        else if (!k.Mark().is_null()) lines[path] = k.Mark().line + 1;
        std::string err = f->set(cfg, v);
        if (!err.empty()) {
          std::string shown = v.IsScalar() ? "'" + v.Scalar() + "'" : "this value";
          return InvalidArgument(Where(path, k.Mark()) + ": key '" + path + "' is " + shown +
                                 "; it must be " + err);
        }
        continue;
      }
      if (IsSection(path)) {
        if (v.IsNull()) continue;  // an empty section keeps its defaults
        if (!v.IsMap()) {
          return InvalidArgument(Where(path, k.Mark()) + ": '" + path +
                                 "' must be a section of keys (key: value lines indented below it)");
        }
        OGAI_RETURN_IF_ERROR(Walk(v, path, cfg));
        continue;
      }
      std::string msg = Where(path, k.Mark()) + ": unknown key '" + path + "'";
      std::string hint = Suggest(path);
      if (!hint.empty()) msg += "; did you mean '" + hint + "'?";
      else msg += "; see docs/config.md or `ogai-run --help-config` for the valid keys";
      return InvalidArgument(msg);
    }
    return Status::Ok();
  }
};

Status ApplyOverride(YAML::Node& root, const std::string& ov, Parser& p) {
  auto eq = ov.find('=');
  if (eq == std::string::npos || eq == 0) {
    return InvalidArgument("command-line override '" + ov +
                           "' is not of the form section.key=value");
  }
  std::string key = ov.substr(0, eq);
  std::string val = ov.substr(eq + 1);
  if (!FindField(key)) {
    std::string msg = "command-line override '" + ov + "': unknown key '" + key + "'";
    std::string hint = Suggest(key);
    if (!hint.empty()) msg += "; did you mean '" + hint + "'?";
    return InvalidArgument(msg);
  }
  YAML::Node value;
  try {
    value = val.empty() ? YAML::Node(std::string()) : YAML::Load(val);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("command-line override '" + ov + "': value does not parse: " + e.msg);
  }
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string part; std::getline(ss, part, '.');) parts.push_back(part);
  // Descend, creating sections as needed. yaml-cpp nodes are references: use reset().
  YAML::Node cur;
  cur.reset(root);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = cur[parts[i]];
    if (!next.IsMap()) {
      cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next = cur[parts[i]];
    }
    cur.reset(next);
  }
  cur[parts.back()] = value;
  p.from_override[key] = ov;
  return Status::Ok();
}

Result<Config> ParseNode(YAML::Node root, const std::string& name,
                         const std::vector<std::string>& overrides) {
  Parser p;
  p.name = name;
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    return InvalidArgument(name + ": a train.yaml must be a mapping of sections "
                           "(model:, data:, train:, ...)");
  }
  for (const auto& ov : overrides) OGAI_RETURN_IF_ERROR(ApplyOverride(root, ov, p));
  Config cfg;
  cfg.source_path = name;
  OGAI_RETURN_IF_ERROR(p.Walk(root, "", cfg));
  Status st = CheckRelations(cfg);
  if (!st.ok()) {
    // CheckRelations names keys as {key}; turn them into "key (file:line)".
    std::string msg = st.message();
    std::string out;
    size_t i = 0;
    while (i < msg.size()) {
      size_t open = msg.find('{', i);
      if (open == std::string::npos) {
        out += msg.substr(i);
        break;
      }
      size_t close = msg.find('}', open);
      if (close == std::string::npos) {
        out += msg.substr(i);
        break;
      }
      std::string key = msg.substr(open + 1, close - open - 1);
      out += msg.substr(i, open - i) + "'" + key + "' (" + p.WhereKey(key) + ")";
      i = close + 1;
    }
    return Status(st.code(), name + ": " + out);
  }
  return cfg;
}

std::string StripBraces(const std::string& msg) {
  std::string out;
  for (char c : msg)
    if (c != '{' && c != '}') out += c;
  return out;
}

Status CheckRelations(Config& cfg) {
  auto& m = cfg.model;
  if (m.d_model % m.heads != 0) {
    return InvalidArgument("{model.heads} = " + std::to_string(m.heads) + " does not divide {model.d_model} = " +
                           std::to_string(m.d_model) + "; choose heads so that d_model / heads is a whole head size");
  }
  if (cfg.data.source == "shards" && cfg.data.paths.empty()) {
    return InvalidArgument("{data.source} is 'shards' but {data.paths} is empty; list the token shard files, or use source: demo");
  }
  if (cfg.data.source == "demo" && m.vocab < 256) {
    return InvalidArgument("{model.vocab} = " + std::to_string(m.vocab) +
                           " is too small for the byte-level demo corpus (needs 256); set vocab: 256 or more");
  }
  auto& t = cfg.train;
  const int dp = cfg.parallel.dp;
  const int per_step = t.micro_batch * dp;
  if (t.global_batch == 0 && t.grad_accum == 0) {
    t.grad_accum = 1;
    t.global_batch = per_step;
  } else if (t.global_batch == 0) {
    t.global_batch = per_step * t.grad_accum;
  } else if (t.grad_accum == 0) {
    if (t.global_batch % per_step != 0) {
      return InvalidArgument("{train.global_batch} = " + std::to_string(t.global_batch) +
                             " is not a multiple of {train.micro_batch} x {parallel.dp} = " + std::to_string(per_step) +
                             "; make global_batch a multiple of micro_batch * dp");
    }
    t.grad_accum = t.global_batch / per_step;
  } else if (t.global_batch != per_step * t.grad_accum) {
    return InvalidArgument("{train.global_batch} = " + std::to_string(t.global_batch) +
                           " but {train.micro_batch} x {train.grad_accum} x {parallel.dp} = " +
                           std::to_string(per_step * t.grad_accum) + "; give two of the three and let ogai derive the third");
  }
  if (t.min_lr > t.lr) {
    return InvalidArgument("{train.min_lr} = " + Render(t.min_lr) + " is above {train.lr} = " + Render(t.lr) +
                           "; the schedule decays from lr down to min_lr");
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
  return Status(st.code(), StripBraces(st.message()));
}

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& name,
                           const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    return InvalidArgument(name + ":" + std::to_string(e.mark.line + 1) + ":" +
                           std::to_string(e.mark.column + 1) + ": not valid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(name + ": not valid YAML: " + e.msg);
  }
  return ParseNode(root, name, overrides);
}

Result<Config> LoadConfig(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) {
    return NotFound("cannot open config file '" + path +
                    "': no such file or not readable; pass the path of a train.yaml (see examples/)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path, overrides);
}

std::string ConfigToYaml(const Config& cfg) {
  std::string out;
  std::string section;
  for (const auto& f : Schema()) {
    auto dot = f.key.find('.');
    std::string sec = f.key.substr(0, dot);
    if (sec != section) {
      out += sec + ":\n";
      section = sec;
    }
    out += "  " + f.key.substr(dot + 1) + ": " + f.get(cfg) + "\n";
  }
  return out;
}

std::string ConfigSchemaHelp() {
  std::string out;
  for (const auto& f : Schema()) {
    Config defaults;
    char line[256];
    std::snprintf(line, sizeof(line), "  %-26s %-18s %-12s %s\n", f.key.c_str(), f.type.c_str(),
                  f.get(defaults).c_str(), f.help.c_str());
    out += line;
  }
  return out;
}

bool IsConfigOverride(const std::string& s) {
  auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  auto dot = s.find('.');
  return dot != std::string::npos && dot < eq && s[0] != '-';
}

}  // namespace ogai
