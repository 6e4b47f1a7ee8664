#include "dataproc/pack.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/log.h"
#include "core/rng.h"
#include "dataproc/atomic_file.h"
#include "dataproc/dataset.h"
#include "dataproc/minhash.h"
#include "dataproc/part_file.h"
#include "dataproc/shard.h"

namespace ogai::data {
namespace fs = std::filesystem;
namespace {

std::string Stem(int f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "f%06d", f);
  return buf;
}

Result<nlohmann::ordered_json> ReadJson(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok() && text.status().code() == Code::kNotFound) {
    return NotFound("'" + path + "' is missing: a rank did not finish; run prepare again");
  }
  if (!text.ok()) return text.status();
  auto j = nlohmann::ordered_json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Corruption("'" + path + "' is damaged; remove the work folder and run again");
  return j;
}

// One split's shards: tokens gather until shard_tokens, then go to disk as one shard.
class SplitWriter {
 public:
  SplitWriter(std::string dir, std::string name, int64_t shard_tokens, uint32_t vocab)
      : dir_(std::move(dir)), name_(std::move(name)), shard_tokens_(shard_tokens), vocab_(vocab) {}
  Status Add(const std::vector<int32_t>& doc) {
    buf_.insert(buf_.end(), doc.begin(), doc.end());
    ++docs_in_buf_;
    ++docs_;
    tokens_ += static_cast<int64_t>(doc.size());
    if (static_cast<int64_t>(buf_.size()) >= shard_tokens_) return Flush();
    return Status::Ok();
  }
  Status Flush() {
    if (buf_.empty()) return Status::Ok();
    char file[64];
    std::snprintf(file, sizeof file, "%s-%05d.bin", name_.c_str(), static_cast<int>(shards_.size()));
    const std::string path = dir_ + "/" + file;
    OGAI_RETURN_IF_ERROR(WriteTokenShard(path, buf_, vocab_));
    OGAI_ASSIGN_OR_RETURN(std::string h, HashFile(path));
    shards_.push_back({{"file", file}, {"tokens", buf_.size()}, {"docs", docs_in_buf_}, {"xxh3", h}});
    buf_.clear();
    docs_in_buf_ = 0;
    return Status::Ok();
  }
  nlohmann::ordered_json Json() const { return {{"tokens", tokens_}, {"docs", docs_}, {"shards", shards_}}; }
  int64_t docs() const { return docs_; }
  int64_t tokens() const { return tokens_; }
  int64_t shards() const { return static_cast<int64_t>(shards_.size()); }

 private:
  std::string dir_, name_;
  int64_t shard_tokens_;
  uint32_t vocab_;
  std::vector<int32_t> buf_;
  int64_t docs_in_buf_ = 0, docs_ = 0, tokens_ = 0;
  nlohmann::ordered_json shards_ = nlohmann::ordered_json::array();
};

// Removes what an earlier dataset or a killed run left in `dir` (manifest first, so a crash
// in between leaves a folder that is visibly not a dataset).
Status ClearOldDataset(const std::string& dir) {
  std::error_code ec;
  fs::remove(dir + "/" + kManifestName, ec);
  if (ec) return IoError("cannot remove the old " + dir + "/" + kManifestName + " (" + ec.message() + ")");
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    const bool shard = (n.rfind("train-", 0) == 0 || n.rfind("val-", 0) == 0) && e.path().extension() == ".bin";
    const bool leftover = n.find(".tmp.") != std::string::npos;  // a killed run's temporary file
    if (shard || leftover) fs::remove(e.path(), ec);
  }
  fs::remove_all(dir + "/tokenizer", ec);
  return Status::Ok();
}

}  // namespace

Result<PackResult> PackDataset(const PackInput& in) {
  const PrepareConfig& cfg = *in.cfg;
  const std::string dir = cfg.output.dir;
  PackResult res;
  Counters& c = res.counters;
  nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
  std::map<std::string, int> rejects_per_rule;
  std::string rejects;
  for (int f = 0; f < in.files; ++f) {
    OGAI_ASSIGN_OR_RETURN(auto j, ReadJson(in.work + "/" + Stem(f) + ".json"));
    inputs.push_back(j["input"]);
    for (auto it = j["counters"].begin(); it != j["counters"].end(); ++it) c[it.key()] += it.value().get<int64_t>();
    for (const auto& r : j["rejects"]) {
      if (rejects_per_rule[r["rule"].get<std::string>()]++ < cfg.output.rejects_per_rule) rejects += r.dump() + "\n";
    }
  }
  // Pass 1: which documents survive dedup (first of a collision wins, in file order).
  std::vector<bool> keep;
  {
    std::unordered_set<uint64_t> exact;
    std::unordered_map<uint64_t, uint32_t> band_owner;  // band hash -> kept document index
    std::vector<std::vector<uint32_t>> kept_sigs;       // jaccard_check only
    const int K = cfg.dedup.bands * cfg.dedup.rows;
    PartRecord r;
    for (int f = 0; f < in.files; ++f) {
      OGAI_ASSIGN_OR_RETURN(auto pr, PartReader::Open(in.work + "/" + Stem(f) + ".part"));
      while (true) {
        OGAI_ASSIGN_OR_RETURN(bool more, pr->Next(&r, false));
        if (!more) break;
        if (cfg.dedup.exact && !exact.insert(r.hash).second) {
          ++c["dedup.exact"];
          keep.push_back(false);
          continue;
        }
        bool dup = false;
        if (cfg.dedup.fuzzy) {
          for (size_t b = 0; b < r.bands.size() && !dup; ++b) {
            auto it = band_owner.find(r.bands[b] ^ (b * 0x9E3779B97F4A7C15ull));
            if (it == band_owner.end()) continue;
            dup = !cfg.dedup.jaccard_check ||
                  EstimatedJaccard(r.sig.data(), kept_sigs[it->second].data(), K) >= cfg.dedup.jaccard;
          }
          if (dup) {
            ++c["dedup.fuzzy"];
            keep.push_back(false);
            continue;
          }
          const uint32_t id = static_cast<uint32_t>(kept_sigs.size());
          if (cfg.dedup.jaccard_check)
            kept_sigs.push_back(r.sig);
          else
            kept_sigs.emplace_back();
          for (size_t b = 0; b < r.bands.size(); ++b) band_owner.emplace(r.bands[b] ^ (b * 0x9E3779B97F4A7C15ull), id);
        }
        keep.push_back(true);
        ++c["dedup.kept_docs"];
      }
    }
  }
  // Pass 2: the shards.
  OGAI_RETURN_IF_ERROR(ClearOldDataset(dir));  // a manifest here was refused unless --overwrite
  const uint32_t vocab = static_cast<uint32_t>(in.tok->vocab_size());
  SplitWriter train(dir, "train", cfg.output.shard_tokens, vocab), val(dir, "val", cfg.output.shard_tokens, vocab);
  const uint64_t cut =
      cfg.output.val_fraction >= 1.0 ? ~0ull : static_cast<uint64_t>(cfg.output.val_fraction * 18446744073709551616.0);
  size_t doc = 0;
  PartRecord r;
  for (int f = 0; f < in.files; ++f) {
    OGAI_ASSIGN_OR_RETURN(auto pr, PartReader::Open(in.work + "/" + Stem(f) + ".part"));
    while (true) {
      OGAI_ASSIGN_OR_RETURN(bool more, pr->Next(&r, true));
      if (!more) break;
      if (!keep[doc++]) continue;
      const bool is_val = Mix64(r.hash ^ cfg.output.seed) < cut;
      OGAI_RETURN_IF_ERROR((is_val ? val : train).Add(r.tokens));
    }
  }
  OGAI_RETURN_IF_ERROR(train.Flush());
  OGAI_RETURN_IF_ERROR(val.Flush());
  c["split.train_docs"] = train.docs();
  c["split.val_docs"] = val.docs();
  c["split.train_tokens"] = train.tokens();
  c["split.val_tokens"] = val.tokens();
  c["split.train_shards"] = train.shards();
  c["split.val_shards"] = val.shards();
  if (train.docs() > 0 && val.docs() == 0 && cfg.output.val_fraction > 0) {
    OGAI_LOG(Warn) << "output.val_fraction " << cfg.output.val_fraction << " gave no validation documents (of "
                   << train.docs() << ": each is drawn by a hash of its text); training with train.eval_every and "
                   << "ogai-model eval will refuse this dataset: prepare it again with another output.seed or more "
                   << "documents";
  }
  if (train.docs() == 0 && val.docs() > 0) {
    char frac[32];
    std::snprintf(frac, sizeof frac, "%g", cfg.output.val_fraction);
    return InvalidArgument("all " + std::to_string(val.docs()) +
                           " documents left went to the validation split (output.val_fraction " + frac +
                           ", drawn per document), none to training; give more documents or a smaller "
                           "output.val_fraction");
  }
  if (train.docs() == 0) {
    // Every rule that dropped documents, the most first: which to relax is rarely only one.
    std::vector<std::pair<int64_t, std::string>> drops;
    for (const auto& [k, v] : c) {
      const bool rule = k.rfind("filter.", 0) == 0 && k != "filter.kept_docs";
      if (v > 0 && (rule || k == "dedup.exact" || k == "dedup.fuzzy" || k == "utf8.dropped_docs")) {
        drops.emplace_back(v, rule ? k.substr(7) : k);
      }
    }
    std::stable_sort(drops.begin(), drops.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string by;
    for (const auto& [n, rule] : drops) by += (by.empty() ? ", dropped: " : ", ") + std::to_string(n) + " by " + rule;
    return InvalidArgument("no document survived the pipeline (" + std::to_string(c["read.docs"]) + " read" + by +
                           "); the input is empty or the rules drop everything: relax or disable them in data.yaml "
                           "(--rejects FILE shows samples)");
  }
  // The tokenizer's files, copied next to the shards.
  nlohmann::ordered_json tj = {{"kind", in.tok->kind()}, {"vocab_size", in.tok->vocab_size()}, {"eot", in.tok->eot()}};
  if (in.tok->kind() == "gpt2") {
    std::error_code ec;
    fs::create_directories(dir + "/tokenizer", ec);
    nlohmann::ordered_json files;
    for (const char* name : {"encoder.json", "vocab.bpe"}) {
      const std::string src = in.tok->vocab_dir() + "/" + name;
      OGAI_ASSIGN_OR_RETURN(std::string bytes, ReadFile(src));
      OGAI_RETURN_IF_ERROR(WriteFileAtomic(dir + "/tokenizer/" + name, bytes));
      OGAI_ASSIGN_OR_RETURN(files[name], HashFile(src));
    }
    tj["files"] = files;
  }
  // The manifest: nothing in it depends on ranks, threads or the output folder's name.
  PrepareConfig recorded = cfg;
  recorded.output.dir = "";
  recorded.output.workers = 0;
  nlohmann::ordered_json m;
  m["format"] = "ogai-dataset";
  m["version"] = 1;
  m["config"] = PrepareConfigToYaml(recorded);
  m["inputs"] = inputs;
  m["tokenizer"] = tj;
  nlohmann::ordered_json counters;
  for (const auto& k : CounterOrder())
    if (c.count(k)) counters[k] = c[k];
  m["counters"] = counters;
  m["splits"] = {{"train", train.Json()}, {"val", val.Json()}};
  const std::string text = m.dump(1) + "\n";
  if (!in.rejects.empty()) OGAI_RETURN_IF_ERROR(WriteFileAtomic(in.rejects, rejects));
  OGAI_RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + kManifestName, text));
  res.dataset_id = DatasetId(text);
  return res;
}

}  // namespace ogai::data
