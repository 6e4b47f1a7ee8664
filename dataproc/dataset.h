// A prepared dataset: the folder `ogai-data prepare` writes.
//
//   manifest.json          written last: inputs (path, bytes, XXH3), the resolved pipeline
//                          config, every stage's counters, the tokenizer (kind, vocabulary,
//                          end-of-text token, its files' hashes), each split's shards with
//                          token and document counts and XXH3 checksums
//   train-00000.bin ...    token shards (docs/formats.md); documents end with the
//   val-00000.bin ...      end-of-text token
//   tokenizer/             gpt2: the encoder.json and vocab.bpe the tokens were made with
//
// The dataset id is the XXH128 of manifest.json's bytes (32 hex digits). A folder without
// manifest.json is not a dataset (a run was killed before it finished).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "dataproc/text_tokenizer.h"

namespace ogai::data {

constexpr char kManifestName[] = "manifest.json";
constexpr int64_t kMaxDatasetVocab = int64_t{1} << 24;   // model.vocab's limit
constexpr int64_t kMaxDatasetTokens = int64_t{1} << 62;  // per split

struct DatasetInfo {
  std::string dir;
  std::string id;
  std::string tokenizer;  // gpt2 | byte
  int vocab = 0;
  int eot = -1;
  std::vector<std::string> train, val;  // shard paths
  int64_t train_tokens = 0, val_tokens = 0;
  std::string manifest;  // its text
};

// Reads dir/manifest.json; checks its numbers' types and ranges, that shard names are ones
// the writer makes (no path leaves the folder) and that the shards exist.
Result<DatasetInfo> OpenDataset(const std::string& dir);

// The tokenizer the dataset was made with, from its tokenizer/ folder (gpt2) or none (byte).
Result<std::unique_ptr<TextTokenizer>> LoadDatasetTokenizer(const DatasetInfo& d);

// The id of a manifest's bytes.
std::string DatasetId(const std::string& manifest_bytes);

// What to do about a dataset without validation documents (for the errors of training with
// train.eval_every and of ogai-model eval): the split draws each document by a hash of its
// text, so a small dataset can get none even with output.val_fraction > 0.
std::string NoValidationDocumentsHelp();

// XXH3-64 of a file's bytes as 16 hex digits.
Result<std::string> HashFile(const std::string& path);

}  // namespace ogai::data
