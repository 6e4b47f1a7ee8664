#include "dataproc/dataset.h"

#include <xxhash.h>

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/file_io.h"

namespace ogai::data {

std::string DatasetId(const std::string& bytes) {
  const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

Result<std::string> HashFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return ErrnoError("cannot read '" + path + "'", errno);
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  std::vector<char> buf(1 << 20);
  size_t k;
  while ((k = std::fread(buf.data(), 1, buf.size(), f)) > 0) XXH3_64bits_update(st, buf.data(), k);
  const bool err = std::ferror(f);
  std::fclose(f);
  const uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  if (err) return IoError("read error in '" + path + "'");
  char out[20];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return std::string(out);
}

namespace {

// "<split>-NNNNN.bin" (five or more digits), the only shard names the writer makes (pack.cc).
bool IsShardName(const std::string& f, const std::string& split) {
  const std::string pre = split + "-";
  if (f.size() < pre.size() + 5 + 4 || f.compare(0, pre.size(), pre) != 0) return false;
  if (f.compare(f.size() - 4, 4, ".bin") != 0) return false;
  for (size_t i = pre.size(); i + 4 < f.size(); ++i) {
    if (f[i] < '0' || f[i] > '9') return false;
  }
  return true;
}

}  // namespace

Result<DatasetInfo> OpenDataset(const std::string& dir) {
  const std::string path = dir + "/" + kManifestName;
  auto manifest = ReadFile(path);
  if (!manifest.ok() && manifest.status().code() == Code::kNotFound) {
    if (std::filesystem::is_directory(dir)) {
      return NotFound("'" + dir + "' holds no " + kManifestName +
                      ": it is not a finished dataset (was `ogai-data prepare` stopped?); run prepare again");
    }
    return NotFound("dataset '" + dir + "' does not exist; create it with `ogai-data prepare data.yaml`");
  }
  if (!manifest.ok()) return manifest.status();
  DatasetInfo d;
  d.dir = dir;
  d.manifest = std::move(*manifest);
  d.id = DatasetId(d.manifest);
  nlohmann::json j = nlohmann::json::parse(d.manifest, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != "ogai-dataset") {
    return Corruption("'" + path + "' is not an ogai dataset manifest; re-create the dataset");
  }
  try {
    // Every number is checked for its type and range before it is used: a crafted manifest
    // (a vocabulary of 1e30, token counts that overflow, a shard named ../../x) is refused,
    // not converted with undefined behaviour or opened outside the dataset.
    const auto& tok = j.at("tokenizer");
    d.tokenizer = tok.at("kind").get<std::string>();
    const auto& vocab = tok.at("vocab_size");
    const auto& eot = tok.at("eot");
    if (!vocab.is_number_integer() || vocab.get<int64_t>() < 1 || vocab.get<int64_t>() > kMaxDatasetVocab) {
      return Corruption("'" + path + "': tokenizer.vocab_size " + vocab.dump() + " is not a whole number in [1, " +
                        std::to_string(kMaxDatasetVocab) + "]; re-create the dataset");
    }
    d.vocab = static_cast<int>(vocab.get<int64_t>());
    if (!eot.is_number_integer() || eot.get<int64_t>() < -1 || eot.get<int64_t>() >= d.vocab) {
      return Corruption("'" + path + "': tokenizer.eot " + eot.dump() + " is not -1 or a token below vocab_size " +
                        std::to_string(d.vocab) + "; re-create the dataset");
    }
    d.eot = static_cast<int>(eot.get<int64_t>());
    for (const char* split : {"train", "val"}) {
      auto& out = std::string(split) == "train" ? d.train : d.val;
      int64_t& tokens = std::string(split) == "train" ? d.train_tokens : d.val_tokens;
      for (const auto& s : j.at("splits").at(split).at("shards")) {
        const std::string file = s.at("file").get<std::string>();
        if (!IsShardName(file, split)) {
          return Corruption("'" + path + "' lists shard '" + file + "', which is not a name ogai-data writes (" +
                            split + "-NNNNN.bin); re-create the dataset");
        }
        const auto& n = s.at("tokens");
        if (!n.is_number_integer() || n.get<int64_t>() < 0 || n.get<int64_t>() > kMaxDatasetTokens - tokens) {
          return Corruption("'" + path + "': shard '" + file + "' claims " + n.dump() + " tokens (not a count, or " +
                            split + " would exceed 2^62 tokens); re-create the dataset");
        }
        const std::string p = dir + "/" + file;
        if (!std::filesystem::exists(p)) {
          return NotFound("dataset '" + dir + "' lists shard '" + p + "' which is missing; re-create the dataset");
        }
        out.push_back(p);
        tokens += n.get<int64_t>();
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return Corruption("'" + path + "' lacks a field (" + e.what() + "); re-create the dataset");
  }
  return d;
}

Result<std::unique_ptr<TextTokenizer>> LoadDatasetTokenizer(const DatasetInfo& d) {
  return TextTokenizer::Load(d.tokenizer, d.dir + "/tokenizer");
}

std::string NoValidationDocumentsHelp() {
  return "prepare it with output.val_fraction > 0; the split draws each document by a hash of its text, so a "
         "dataset of few documents can get none even then: prepare it again with another output.seed or more "
         "documents";
}

}  // namespace ogai::data
