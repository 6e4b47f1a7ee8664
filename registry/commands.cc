#include "registry/commands.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/file_io.h"
#include "core/log.h"
#include "core/memory.h"
#include "model/kv_decode.h"
#include "model/sampling.h"
#include "registry/card.h"
#include "registry/eval.h"
#include "registry/hf.h"
#include "registry/materialize.h"
#include "registry/register_ckpt.h"
#include "registry/weights.h"

namespace ogai::registry {

namespace {

const char* kValueFlags[] = {"--name",   "--alias", "--tag",  "--prompt",  "--max-tokens",   "--temperature",
                             "--top-k",  "--top-p", "--seed", "--out",     "--format",       "--shard-mb",
                             "--tokens", "--data",  "--np",   "--batches", "--global-batch", "--set"};
const char* kSwitches[] = {"--yes", "--config", "--recompute", "--ignore-eot"};

Status Need(const Flags& f, size_t n, const char* usage) {
  if (f.positional.size() != n) return InvalidArgument(std::string("usage: ogai-model ") + usage);
  return Status::Ok();
}

Result<double> Number(const Flags& f, const std::string& k, double def) {
  const std::string v = f.Get(k);
  if (v.empty()) return def;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0') return InvalidArgument(k + " takes a number, got '" + v + "'");
  return x;
}

}  // namespace

std::string Flags::Get(const std::string& k, const std::string& def) const {
  auto it = values.find(k);
  return it == values.end() ? def : it->second;
}
bool Flags::Has(const std::string& sw) const {
  for (const auto& s : switches)
    if (s == sw) return true;
  return false;
}

Status ParseFlags(const std::vector<std::string>& args, Flags* f) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0) {
      f->positional.push_back(a);
      continue;
    }
    std::string key = a, val;
    const size_t eq = a.find('=');
    if (eq != std::string::npos) {
      key = a.substr(0, eq);
      val = a.substr(eq + 1);
    }
    bool is_value = false, is_switch = false;
    for (const char* k : kValueFlags) is_value = is_value || key == k;
    for (const char* k : kSwitches) is_switch = is_switch || key == k;
    if (is_switch) {
      f->switches.push_back(key);
    } else if (is_value) {
      if (eq == std::string::npos) {
        if (i + 1 >= args.size()) return InvalidArgument(key + " needs a value");
        val = args[++i];
      }
      f->values.emplace(key, val);
    } else {
      return InvalidArgument("unknown option " + a + " (ogai-model --help lists them)");
    }
  }
  return Status::Ok();
}

Status Generate(Registry& reg, const std::string& ref, const GenerateOptions& o) {
  OGAI_ASSIGN_OR_RETURN(VersionInfo v, reg.Resolve(ref));
  OGAI_ASSIGN_OR_RETURN(std::vector<int32_t> prompt, Encode(v, o.prompt));
  if (prompt.empty()) return InvalidArgument("--prompt is empty; give at least one character");
  const int T = v.config.seq_len, V = v.config.vocab;
  if (static_cast<int>(prompt.size()) >= T) {
    return InvalidArgument("the prompt has " + std::to_string(prompt.size()) + " tokens; " + v.ref() +
                           " sees at most " + std::to_string(T) + " (model.seq_len), leaving no room to generate");
  }
  const int n = std::min(o.max_tokens, T - static_cast<int>(prompt.size()));
  if (n < o.max_tokens) {
    OGAI_LOG(Warn) << "generating " << n << " tokens, not " << o.max_tokens << ": " << v.ref() << " sees " << T
                   << " tokens (model.seq_len) and the prompt has " << prompt.size();
  }
  OGAI_ASSIGN_OR_RETURN(std::unique_ptr<model::GPT> m, LoadModel(reg, v));
  const model::SamplingOptions so{o.temperature, o.top_k, o.top_p, o.seed};
  WriteAll(STDOUT_FILENO, o.prompt);
  std::vector<int32_t> seq = prompt;
  std::vector<float> lg(V);
  // Like Hugging Face's generate, the end-of-text token ends the text (not printed), unless
  // --ignore-eot asks for all n tokens.
  const int eot = o.ignore_eot ? -1 : EndOfText(v);
  bool ended = false;
  auto emit = [&](int32_t tok) {
    ended = tok == eot;
    if (!ended) WriteAll(STDOUT_FILENO, Decode(v, {tok}));
  };
  if (o.recompute) {
    std::vector<float> full;
    for (int i = 0; i < n && !ended; ++i) {
      OGAI_RETURN_IF_ERROR(model::FullForwardLogits(*m, seq.data(), 1, static_cast<int>(seq.size()), &full));
      seq.push_back(model::SampleToken(full.data() + (seq.size() - 1) * V, V, so, i));
      emit(seq.back());
    }
  } else {
    OGAI_ASSIGN_OR_RETURN(model::KvDecoder dec, model::KvDecoder::Create(m.get(), 1));
    for (size_t i = 0; i < prompt.size(); ++i) OGAI_RETURN_IF_ERROR(dec.Step(&prompt[i], lg.data()));
    for (int i = 0; i < n && !ended; ++i) {
      seq.push_back(model::SampleToken(lg.data(), V, so, i));
      emit(seq.back());
      if (i + 1 < n && !ended) OGAI_RETURN_IF_ERROR(dec.Step(&seq.back(), lg.data()));
    }
  }
  WriteAll(STDOUT_FILENO, "\n");
  if (ended) {
    OGAI_LOG(Info) << "stopped at the end-of-text token after " << seq.size() - prompt.size()
                   << " tokens (--ignore-eot goes on)";
  }
  return Status::Ok();
}

namespace {

// Every position's logits by the training forward, one line per position: "pos token l0 l1 ...".
Status Logits(Registry& reg, const std::string& ref, const Flags& f) {
  OGAI_ASSIGN_OR_RETURN(VersionInfo v, reg.Resolve(ref));
  std::vector<int32_t> toks;
  if (!f.Get("--tokens").empty()) {
    const std::string s = f.Get("--tokens");
    size_t i = 0;
    while (i < s.size()) {
      size_t j = s.find(',', i);
      if (j == std::string::npos) j = s.size();
      const long t = std::strtol(s.substr(i, j - i).c_str(), nullptr, 10);
      if (t < 0 || t >= v.config.vocab) {
        return InvalidArgument("token " + s.substr(i, j - i) + " is outside " + v.ref() + "'s vocabulary (0.." +
                               std::to_string(v.config.vocab - 1) + ")");
      }
      toks.push_back(static_cast<int32_t>(t));
      i = j + 1;
    }
  } else {
    OGAI_ASSIGN_OR_RETURN(toks, Encode(v, f.Get("--prompt")));
  }
  const int T = v.config.seq_len, V = v.config.vocab;
  if (toks.empty() || static_cast<int>(toks.size()) > T) {
    return InvalidArgument("logits needs 1.." + std::to_string(T) + " tokens, got " + std::to_string(toks.size()));
  }
  OGAI_ASSIGN_OR_RETURN(std::unique_ptr<model::GPT> m, LoadModel(reg, v));
  std::vector<float> full;
  OGAI_RETURN_IF_ERROR(model::FullForwardLogits(*m, toks.data(), 1, static_cast<int>(toks.size()), &full));
  std::string out;
  char b[32];
  for (size_t p = 0; p < toks.size(); ++p) {
    out += std::to_string(p) + " " + std::to_string(toks[p]);
    for (int j = 0; j < V; ++j) {
      std::snprintf(b, sizeof(b), " %.9g", full[p * V + j]);
      out += b;
    }
    out += "\n";
  }
  WriteAll(STDOUT_FILENO, out);
  return Status::Ok();
}

Status Register(Registry& reg, const Flags& f) {
  OGAI_RETURN_IF_ERROR(Need(f, 1, "register CKPT_DIR --name NAME [--alias A]... [--tag KEY=VALUE]..."));
  RegisterOptions o;
  o.name = f.Get("--name");
  if (o.name.empty()) return InvalidArgument("register needs --name NAME");
  for (auto [it, end] = f.values.equal_range("--alias"); it != end; ++it) o.aliases.push_back(it->second);
  for (auto [it, end] = f.values.equal_range("--tag"); it != end; ++it) {
    const size_t eq = it->second.find('=');
    if (eq == std::string::npos || eq == 0) return InvalidArgument("--tag takes KEY=VALUE, got '" + it->second + "'");
    o.tags[it->second.substr(0, eq)] = it->second.substr(eq + 1);
  }
  OGAI_ASSIGN_OR_RETURN(RegisterResult r, RegisterCheckpoint(reg, f.positional[0], o));
  char b[256];
  std::snprintf(b, sizeof(b), "registered %s@%d: %d tensors, %s, %d new blob(s), %.2f s (%.0f MB/s)", o.name.c_str(),
                r.version, r.tensors, FormatBytes(r.bytes).c_str(), r.blobs_written, r.seconds,
                r.bytes / 1e6 / std::max(r.seconds, 1e-9));
  Print(b);
  return Status::Ok();
}

}  // namespace

Status RunCommand(Registry& reg, const std::string& cmd, const Flags& f) {
  if (cmd == "register") return Register(reg, f);
  if (cmd == "ls") {
    if (f.positional.empty()) {
      OGAI_ASSIGN_OR_RETURN(auto models, reg.List());
      WriteAll(STDOUT_FILENO, FormatModelList(models));
      return Status::Ok();
    }
    OGAI_RETURN_IF_ERROR(Need(f, 1, "ls [NAME]"));
    OGAI_ASSIGN_OR_RETURN(auto vs, reg.Versions(f.positional[0]));
    WriteAll(STDOUT_FILENO, FormatVersionList(vs));
    return Status::Ok();
  }
  if (cmd == "show") {
    OGAI_RETURN_IF_ERROR(Need(f, 1, "show NAME[@VERSION|@ALIAS] [--config]"));
    OGAI_ASSIGN_OR_RETURN(VersionInfo v, reg.Resolve(f.positional[0]));
    WriteAll(STDOUT_FILENO, FormatCard(v, f.Has("--config")));
    return Status::Ok();
  }
  if (cmd == "alias") {
    OGAI_RETURN_IF_ERROR(Need(f, 2, "alias NAME@VERSION ALIAS"));
    OGAI_RETURN_IF_ERROR(reg.SetAlias(f.positional[0], f.positional[1]));
    OGAI_ASSIGN_OR_RETURN(VersionInfo v, reg.Resolve(f.positional[0]));
    Print(v.model + "@" + f.positional[1] + " -> " + std::to_string(v.version));
    return Status::Ok();
  }
  if (cmd == "tag") {
    OGAI_RETURN_IF_ERROR(Need(f, 2, "tag NAME[@REF] KEY=VALUE"));
    const size_t eq = f.positional[1].find('=');
    if (eq == std::string::npos || eq == 0)
      return InvalidArgument("tag takes KEY=VALUE, got '" + f.positional[1] + "'");
    return reg.SetTag(f.positional[0], f.positional[1].substr(0, eq), f.positional[1].substr(eq + 1));
  }
  if (cmd == "rm") {
    OGAI_RETURN_IF_ERROR(Need(f, 1, "rm NAME@VERSION"));
    OGAI_RETURN_IF_ERROR(reg.Remove(f.positional[0]));
    Print("removed " + f.positional[0] + " (its lineage record stays; ogai-model gc frees unshared blobs)");
    return Status::Ok();
  }
  if (cmd == "gc") {
    OGAI_RETURN_IF_ERROR(Need(f, 0, "gc [--yes]"));
    const bool apply = f.Has("--yes");
    OGAI_ASSIGN_OR_RETURN(GcReport r, reg.Gc(apply));
    for (const auto& h : r.unreferenced) Print((apply ? "deleted " : "would delete ") + reg.blobs().PathOf(h));
    for (const auto& t : r.temp_files) Print((apply ? "deleted " : "would delete ") + t);
    Print(std::string(apply ? "gc: deleted " : "gc (dry run; --yes deletes): ") +
          std::to_string(r.unreferenced.size()) + " unreferenced blob(s), " + FormatBytes(r.bytes) + ", " +
          std::to_string(r.temp_files.size()) + " leftover temp file(s)");
    return Status::Ok();
  }
  if (cmd == "generate") {
    OGAI_RETURN_IF_ERROR(Need(f, 1, "generate MODEL --prompt TEXT [--max-tokens N] ..."));
    GenerateOptions o;
    o.prompt = f.Get("--prompt");
    OGAI_ASSIGN_OR_RETURN(double mt, Number(f, "--max-tokens", 64));
    OGAI_ASSIGN_OR_RETURN(o.temperature, Number(f, "--temperature", 1.0));
    OGAI_ASSIGN_OR_RETURN(double k, Number(f, "--top-k", 0));
    OGAI_ASSIGN_OR_RETURN(o.top_p, Number(f, "--top-p", 1.0));
    OGAI_ASSIGN_OR_RETURN(double seed, Number(f, "--seed", 0));
    if (mt < 1 || mt > 1e9 || k < 0 || k > 1e9 || o.temperature < 0 || o.top_p <= 0 || o.top_p > 1 || seed < 0) {
      return InvalidArgument(
          "need 1 <= --max-tokens <= 1e9, 0 <= --top-k <= 1e9, --temperature >= 0, 0 < --top-p <= 1, --seed >= 0");
    }
    o.max_tokens = static_cast<int>(mt);
    o.top_k = static_cast<int>(k);
    o.seed = static_cast<uint64_t>(seed);
    o.recompute = f.Has("--recompute");
    o.ignore_eot = f.Has("--ignore-eot");
    return Generate(reg, f.positional[0], o);
  }
  if (cmd == "logits") {
    OGAI_RETURN_IF_ERROR(Need(f, 1, "logits MODEL (--prompt TEXT | --tokens 1,2,3)"));
    return Logits(reg, f.positional[0], f);
  }
  if (cmd == "export") {
    OGAI_RETURN_IF_ERROR(Need(f, 1, "export MODEL --format hf --out DIR [--shard-mb N]"));
    if (f.Get("--format", "hf") != "hf") return InvalidArgument("export knows --format hf only");
    if (f.Get("--out").empty()) return InvalidArgument("export needs --out DIR");
    OGAI_ASSIGN_OR_RETURN(double mb, Number(f, "--shard-mb", 2048));
    OGAI_ASSIGN_OR_RETURN(VersionInfo v, reg.Resolve(f.positional[0]));
    OGAI_ASSIGN_OR_RETURN(int files, ExportHf(reg, v, f.Get("--out"), static_cast<int64_t>(mb * 1024 * 1024)));
    Print("exported " + v.ref() + " to " + f.Get("--out") + " (" + std::to_string(files) + " safetensors file(s))");
    return Status::Ok();
  }
  if (cmd == "import") {
    OGAI_RETURN_IF_ERROR(Need(f, 1, "import DIR --name NAME [--alias A]"));
    if (f.Get("--name").empty()) return InvalidArgument("import needs --name NAME");
    std::vector<std::string> aliases;
    for (auto [it, end] = f.values.equal_range("--alias"); it != end; ++it) aliases.push_back(it->second);
    OGAI_ASSIGN_OR_RETURN(int version, ImportHf(reg, f.positional[0], f.Get("--name"), aliases));
    Print("imported " + f.positional[0] + " as " + f.Get("--name") + "@" + std::to_string(version));
    return Status::Ok();
  }
  if (cmd == "eval") {
    OGAI_RETURN_IF_ERROR(Need(f, 1, "eval MODEL --data DATASET [--np N] [--batches B] [--set KEY=VALUE]..."));
    EvalRequest r;
    r.data = f.Get("--data");
    if (r.data.empty()) return InvalidArgument("eval needs --data DATASET (a folder made by ogai-data prepare)");
    OGAI_ASSIGN_OR_RETURN(double np, Number(f, "--np", 1));
    OGAI_ASSIGN_OR_RETURN(double nb, Number(f, "--batches", 4));
    OGAI_ASSIGN_OR_RETURN(double gb, Number(f, "--global-batch", 8));
    r.np = static_cast<int>(np);
    r.batches = static_cast<int>(nb);
    r.global_batch = static_cast<int>(gb);
    for (auto [it, end] = f.values.equal_range("--set"); it != end; ++it) r.overrides.push_back(it->second);
    OGAI_ASSIGN_OR_RETURN(VersionInfo v, reg.Resolve(f.positional[0]));
    OGAI_ASSIGN_OR_RETURN(Evaluation e, EvaluateVersion(reg, v, r));
    char b[512], bpb[32] = "n/a";
    if (!std::isnan(e.bits_per_byte)) std::snprintf(bpb, sizeof bpb, "%.4f", e.bits_per_byte);
    std::snprintf(b, sizeof(b), "%s on %s: loss %.4f, perplexity %.3f, bits per byte %s (%lld tokens)", v.ref().c_str(),
                  e.data.c_str(), e.loss, e.perplexity, bpb, static_cast<long long>(e.tokens));
    Print(b);
    return Status::Ok();
  }
  if (cmd == "materialize") {
    OGAI_RETURN_IF_ERROR(Need(f, 1, "materialize MODEL [--out DIR]"));
    OGAI_ASSIGN_OR_RETURN(VersionInfo v, reg.Resolve(f.positional[0]));
    OGAI_ASSIGN_OR_RETURN(std::string path, Materialize(reg, v, f.Get("--out", reg.root() + "/materialized")));
    Print(v.ref() + " " + path);
    return Status::Ok();
  }
  return InvalidArgument("unknown command '" + cmd + "'");
}

}  // namespace ogai::registry
