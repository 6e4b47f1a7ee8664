#include "dataproc/dataset.h"

#include <xxhash.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

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

Result<DatasetInfo> OpenDataset(const std::string& dir) {
  const std::string path = dir + "/" + kManifestName;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (std::filesystem::is_directory(dir)) {
      return NotFound("'" + dir + "' holds no " + kManifestName +
                      ": it is not a finished dataset (was `ogai-data prepare` stopped?); run prepare again");
    }
    return NotFound("dataset '" + dir + "' does not exist; create it with `ogai-data prepare data.yaml`");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  DatasetInfo d;
  d.dir = dir;
  d.manifest = ss.str();
  d.id = DatasetId(d.manifest);
  nlohmann::json j = nlohmann::json::parse(d.manifest, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != "ogai-dataset") {
    return Corruption("'" + path + "' is not an ogai dataset manifest; re-create the dataset");
  }
  try {
    d.tokenizer = j.at("tokenizer").at("kind").get<std::string>();
    d.vocab = j.at("tokenizer").at("vocab_size").get<int>();
    d.eot = j.at("tokenizer").at("eot").get<int>();
    for (const char* split : {"train", "val"}) {
      auto& out = std::string(split) == "train" ? d.train : d.val;
      int64_t& tokens = std::string(split) == "train" ? d.train_tokens : d.val_tokens;
      for (const auto& s : j.at("splits").at(split).at("shards")) {
        const std::string p = dir + "/" + s.at("file").get<std::string>();
        if (!std::filesystem::exists(p)) {
          return NotFound("dataset '" + dir + "' lists shard '" + p + "' which is missing; re-create the dataset");
        }
        out.push_back(p);
        tokens += s.at("tokens").get<int64_t>();
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return Corruption("'" + path + "' lacks a field (" + e.what() + "); re-create the dataset");
  }
  return d;
}

}  // namespace ogai::data
