// Token sources and the deterministic data loader.
//
// A TokenSource is a sequence of token "documents" (one per shard, or one in-memory array).
// Each is cut into training windows of seq_len + 1 tokens at stride seq_len (inputs are the
// first seq_len, targets the last seq_len); windows never cross a shard boundary.
//
// The loader is stateless random access: global sample g (counting from the start of
// training) is window Permute(g mod W, W, key(seed, epoch = g / W)). A job's step s uses
// samples [s * global_batch, (s + 1) * global_batch), and each (dp rank, micro-batch) takes a
// fixed slice of them, so every layout sees the same global batch and a resumed run needs
// only the step number to continue exactly where it stopped.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "dataproc/data_config.h"
#include "dataproc/dataset.h"
#include "dataproc/shard.h"

namespace ogai::data {

class TokenSource {
 public:
  // Shard files (checked: header, size, vocab).
  static Result<std::shared_ptr<TokenSource>> FromShards(const std::vector<std::string>& paths, uint32_t model_vocab);
  static std::shared_ptr<TokenSource> FromTokens(std::vector<int32_t> tokens);
  // What train.yaml's data: section asks for (the demo corpus, generated, or data.paths,
  // checked against the model's vocabulary).
  static Result<std::shared_ptr<TokenSource>> FromConfig(const DataConfig& data, int model_vocab);

  int64_t total_tokens() const;
  int num_documents() const { return static_cast<int>(docs_.size()); }
  int64_t document_size(int i) const;
  void Read(int doc, int64_t begin, int64_t n, int32_t* out) const;

 private:
  std::vector<std::unique_ptr<TokenShard>> shards_;
  std::vector<int32_t> memory_;
  struct Doc {
    int shard;  // -1: memory_
    int64_t size;
  };
  std::vector<Doc> docs_;
};

// data.source: dataset: a prepared dataset's splits (dataset.h), its tokenizer's vocabulary
// checked against model.vocab.
struct DatasetSplits {
  std::shared_ptr<TokenSource> train, val;  // val is empty when the dataset has no validation split
  DatasetInfo info;                         // its manifest: id, tokenizer, vocabulary
};
Result<DatasetSplits> OpenDatasetSplits(const std::string& dir, int model_vocab);

class DataLoader {
 public:
  static Result<std::unique_ptr<DataLoader>> Create(std::shared_ptr<TokenSource> source, int seq_len, uint64_t seed);

  int seq_len() const { return seq_len_; }
  int64_t num_windows() const { return total_windows_; }
  // Fills inputs and targets ([count, seq_len] each) for samples [first, first + count).
  void GetSamples(int64_t first, int count, int32_t* inputs, int32_t* targets) const;
  // The window index global sample g maps to (exposed for tests).
  int64_t WindowOf(int64_t g) const;

 private:
  std::shared_ptr<TokenSource> source_;
  int seq_len_ = 0;
  uint64_t seed_ = 0;
  std::vector<int64_t> window_start_;  // prefix sums of windows per document
  int64_t total_windows_ = 0;
};

}  // namespace ogai::data
