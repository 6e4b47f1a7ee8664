// ogai-data: turn raw text into a dataset of token shards, and look at or convert one.
//   ogai-data prepare data.yaml [key=value ...] [--overwrite] [--rejects FILE]
//   ogai-data inspect DATASET [--docs N]
//   ogai-data export DATASET --format megatron|llmc --out PREFIX [--split train|val]
//   ogai-data encode|decode --tokenizer gpt2|byte [--vocab-dir DIR] [TEXT | IDS]
// docs/data.md describes the pipeline, data.yaml and the formats.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "dataproc/dataset.h"
#include "dataproc/export.h"
#include "dataproc/prepare.h"
#include "dataproc/shard.h"
#include "dataproc/text_tokenizer.h"
#include "rank/rank_env.h"

namespace ogai::data {
namespace {

constexpr char kUsage[] =
    "usage: ogai-data COMMAND [ARGS]\n"
    "  prepare data.yaml [key=value ...]   raw text -> a dataset of token shards\n"
    "  inspect DATASET                     manifest, counters and a decoded sample\n"
    "  export DATASET --format F --out P   Megatron-LM .bin/.idx or llm.c .bin\n"
    "  encode | decode                     one text <-> token ids\n"
    "`ogai-data COMMAND --help` for each; docs/data.md for the pipeline.\n";

constexpr char kPrepareHelp[] =
    "usage: ogai-data prepare data.yaml [section.key=value ...] [--overwrite] [--rejects FILE] [--quiet]\n"
    "  Reads, cleans, filters, masks, deduplicates and tokenizes the inputs of data.yaml and writes\n"
    "  a dataset (token shards, train/validation split, manifest.json) into output.dir.\n"
    "  Under `ogai-run -np N -- ogai-data prepare ...` the ranks split the input files; the result\n"
    "  is bit-identical for any N (output.dir must be a folder every rank sees).\n"
    "  --overwrite      replace a dataset already in output.dir\n"
    "  --rejects FILE   write samples of dropped documents (JSON Lines, with the rule's name)\n"
    "  --quiet          no progress line and no counters table\n"
    "  --help-config    every data.yaml key with its type, default and meaning\n";

constexpr char kInspectHelp[] =
    "usage: ogai-data inspect DATASET [--docs N]\n"
    "  Prints the dataset id, tokenizer, splits, every stage's counters and the first N (default 1)\n"
    "  documents of the training split, decoded.\n";

constexpr char kExportHelp[] =
    "usage: ogai-data export DATASET --format megatron|llmc --out PREFIX [--split train|val]\n"
    "  megatron: PREFIX.bin + PREFIX.idx (Megatron-LM's MMIDIDX indexed dataset, one sequence per document)\n"
    "  llmc:     PREFIX.bin (llm.c: 256 int32 header, uint16 tokens)\n";

constexpr char kCodecHelp[] =
    "usage: ogai-data encode --tokenizer gpt2|byte [--vocab-dir DIR] [TEXT]   (stdin without TEXT)\n"
    "       ogai-data decode --tokenizer gpt2|byte [--vocab-dir DIR] ID ...\n"
    "       ogai-data encode|decode --dataset DATASET ...   (the dataset's tokenizer)\n";

int Fail(const Status& st) {
  std::fprintf(stderr, "ogai-data: %s\n", st.message().c_str());
  return 1;
}

bool HasFlag(const std::vector<std::string>& a, const std::string& f) {
  for (const auto& x : a)
    if (x == f) return true;
  return false;
}

// The value after `flag`, or "".
std::string FlagValue(std::vector<std::string>& a, const std::string& flag) {
  for (size_t i = 0; i + 1 < a.size(); ++i) {
    if (a[i] == flag) {
      std::string v = a[i + 1];
      a.erase(a.begin() + static_cast<long>(i), a.begin() + static_cast<long>(i) + 2);
      return v;
    }
  }
  return "";
}

void PrintCounters(const Counters& c) {
  Print("stage counters:");
  for (const auto& k : CounterOrder()) {
    auto it = c.find(k);
    if (it == c.end()) continue;
    char line[128];
    std::snprintf(line, sizeof line, "  %-40s %14lld", k.c_str(), static_cast<long long>(it->second));
    Print(line);
  }
}

int Prepare(std::vector<std::string> a) {
  if (HasFlag(a, "--help") || HasFlag(a, "-h")) {
    std::fputs(kPrepareHelp, stdout);
    return 0;
  }
  if (HasFlag(a, "--help-config")) {
    std::fputs(PrepareConfigHelp().c_str(), stdout);
    return 0;
  }
  PrepareOptions o;
  o.rejects = FlagValue(a, "--rejects");
  std::string yaml;
  std::vector<std::string> overrides;
  bool quiet = false;
  for (const auto& x : a) {
    if (x == "--overwrite")
      o.overwrite = true;
    else if (x == "--quiet")
      quiet = true;
    else if (x.rfind("--", 0) == 0)
      return Fail(InvalidArgument("unknown flag '" + x + "'; see ogai-data prepare --help"));
    else if (yaml.empty() && x.find('=') == std::string::npos)
      yaml = x;
    else
      overrides.push_back(x);
  }
  if (yaml.empty()) return Fail(InvalidArgument("give a data.yaml: ogai-data prepare data.yaml [key=value ...]"));
  auto cfg = LoadPrepareConfig(yaml, overrides);
  if (!cfg.ok()) return Fail(cfg.status());
  auto env = launch::DetectRankEnv();
  if (!env.ok()) return Fail(env.status());
  o.rank = env->rank;
  o.world = env->world_size;
  o.local_world = env->local_world_size;
  o.run_tag = !env->run_id.empty()         ? env->run_id
              : env->world_size == 1       ? "p" + std::to_string(::getpid())
              : !env->launcher_job.empty() ? env->launcher_job
                                           : "job" + std::to_string(env->master_port);
  o.progress = !quiet;
  SetLogRank(o.rank);
  auto r = RunPrepare(*cfg, o);
  if (!r.ok()) return Fail(r.status());
  if (o.rank != 0) return 0;
  if (!quiet) PrintCounters(r->counters);
  char line[256];
  std::snprintf(line, sizeof line, "dataset %s: id %s, %lld train + %lld val tokens, %.1f s (%.1f MB/s of input)",
                cfg->output.dir.c_str(), r->dataset_id.c_str(),
                static_cast<long long>(r->counters["split.train_tokens"]),
                static_cast<long long>(r->counters["split.val_tokens"]), r->seconds,
                r->input_bytes / 1e6 / std::max(1e-9, r->seconds));
  Print(line);
  return 0;
}

int Inspect(std::vector<std::string> a) {
  if (a.empty() || HasFlag(a, "--help")) {
    std::fputs(kInspectHelp, a.empty() ? stderr : stdout);
    return a.empty() ? 2 : 0;
  }
  const std::string docs_flag = FlagValue(a, "--docs");
  const int docs = docs_flag.empty() ? 1 : std::stoi(docs_flag);
  auto d = OpenDataset(a[0]);
  if (!d.ok()) return Fail(d.status());
  auto m = nlohmann::ordered_json::parse(d->manifest);
  Print("dataset " + d->dir + "\n  id         " + d->id + "\n  tokenizer  " + d->tokenizer + " (vocab " +
        std::to_string(d->vocab) + ", end of text " + std::to_string(d->eot) + ")\n  train      " +
        std::to_string(d->train_tokens) + " tokens in " + std::to_string(d->train.size()) + " shards\n  val        " +
        std::to_string(d->val_tokens) + " tokens in " + std::to_string(d->val.size()) + " shards\n  inputs     " +
        std::to_string(m["inputs"].size()) + " files");
  Counters c;
  for (auto it = m["counters"].begin(); it != m["counters"].end(); ++it) c[it.key()] = it.value().get<int64_t>();
  PrintCounters(c);
  auto tok = LoadDatasetTokenizer(*d);
  if (!tok.ok()) return Fail(tok.status());
  if (d->train.empty()) return 0;
  auto shard = TokenShard::Open(d->train[0], static_cast<uint32_t>(d->vocab));
  if (!shard.ok()) return Fail(shard.status());
  std::vector<int32_t> t(static_cast<size_t>(std::min<int64_t>((*shard)->size(), 1 << 20)));
  (*shard)->Read(0, static_cast<int64_t>(t.size()), t.data());
  size_t begin = 0;
  for (int k = 0; k < docs && begin < t.size(); ++k) {
    size_t end = begin;
    while (end < t.size() && t[end] != d->eot) ++end;
    const std::span<const int32_t> doc(t.data() + begin, end - begin);
    std::string text = (*tok)->Decode(doc);
    if (text.size() > 1500) text = text.substr(0, 1500) + " [...]";
    Print("--- document " + std::to_string(k) + " (" + std::to_string(doc.size()) + " tokens) ---\n" + text);
    begin = end + 1;
  }
  return 0;
}

int Export(std::vector<std::string> a) {
  if (a.empty() || HasFlag(a, "--help")) {
    std::fputs(kExportHelp, a.empty() ? stderr : stdout);
    return a.empty() ? 2 : 0;
  }
  const std::string format = FlagValue(a, "--format"), out = FlagValue(a, "--out");
  std::string split = FlagValue(a, "--split");
  if (split.empty()) split = "train";
  if (format.empty() || out.empty() || a.size() != 1) {
    return Fail(InvalidArgument("give DATASET --format megatron|llmc --out PREFIX; see ogai-data export --help"));
  }
  auto d = OpenDataset(a[0]);
  if (!d.ok()) return Fail(d.status());
  auto r = ExportDataset(*d, split, format, out);
  if (!r.ok()) return Fail(r.status());
  std::string files;
  for (const auto& f : r->files) files += " " + f;
  Print("exported " + std::to_string(r->tokens) + " tokens, " + std::to_string(r->docs) + " documents:" + files);
  return 0;
}

int Codec(bool encode, std::vector<std::string> a) {
  if (HasFlag(a, "--help")) {
    std::fputs(kCodecHelp, stdout);
    return 0;
  }
  std::string kind = FlagValue(a, "--tokenizer"), dir = FlagValue(a, "--vocab-dir");
  const std::string dataset = FlagValue(a, "--dataset");
  if (!dataset.empty()) {
    auto d = OpenDataset(dataset);
    if (!d.ok()) return Fail(d.status());
    kind = d->tokenizer;
    dir = d->dir + "/tokenizer";
  }
  if (kind.empty()) return Fail(InvalidArgument("give --tokenizer gpt2|byte (or --dataset DATASET)"));
  auto tok = TextTokenizer::Load(kind, dir);
  if (!tok.ok()) return Fail(tok.status());
  if (encode) {
    std::string text;
    if (a.empty()) {
      std::stringstream ss;
      ss << std::cin.rdbuf();
      text = ss.str();
    } else {
      for (size_t i = 0; i < a.size(); ++i) text += (i ? " " : "") + a[i];
    }
    std::vector<int32_t> ids;
    BpeCache cache;
    (*tok)->Encode(text, &ids, &cache);
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
    Print(line);
    return 0;
  }
  std::vector<int32_t> ids;
  for (const auto& x : a) {
    char* end = nullptr;
    const long v = std::strtol(x.c_str(), &end, 10);
    if (end == x.c_str() || *end != '\0' || v < 0 || v >= (*tok)->vocab_size()) {
      return Fail(InvalidArgument("'" + x + "' is not a token id of this vocabulary (0.." +
                                  std::to_string((*tok)->vocab_size() - 1) + ")"));
    }
    ids.push_back(static_cast<int32_t>(v));
  }
  std::fputs((*tok)->Decode(ids).c_str(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace
}  // namespace ogai::data

int main(int argc, char** argv) {
  using namespace ogai::data;
  ogai::SetLogProcessName("ogai-data");
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.empty() || a[0] == "--help" || a[0] == "-h" || a[0] == "help") {
    std::fputs(kUsage, a.empty() ? stderr : stdout);
    return a.empty() ? 2 : 0;
  }
  const std::string cmd = a[0];
  a.erase(a.begin());
  if (cmd == "prepare") return Prepare(a);
  if (cmd == "inspect") return Inspect(a);
  if (cmd == "export") return Export(a);
  if (cmd == "encode") return Codec(true, a);
  if (cmd == "decode") return Codec(false, a);
  std::fprintf(stderr, "ogai-data: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return 2;
}
