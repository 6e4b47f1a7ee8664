#include "dataproc/loader.h"

#include <algorithm>
#include <vector>

#include "core/rng.h"
#include "dataproc/byte_tokenizer.h"
#include "dataproc/dataset.h"
#include "dataproc/demo_corpus.h"

namespace ogai::data {

Result<std::shared_ptr<TokenSource>> TokenSource::FromShards(const std::vector<std::string>& paths,
                                                             uint32_t model_vocab) {
  auto src = std::make_shared<TokenSource>();
  for (const auto& p : paths) {
    OGAI_ASSIGN_OR_RETURN(auto shard, TokenShard::Open(p, model_vocab));
    src->docs_.push_back({static_cast<int>(src->shards_.size()), shard->size()});
    src->shards_.push_back(std::move(shard));
  }
  return src;
}

std::shared_ptr<TokenSource> TokenSource::FromTokens(std::vector<int32_t> tokens) {
  auto src = std::make_shared<TokenSource>();
  src->docs_.push_back({-1, static_cast<int64_t>(tokens.size())});
  src->memory_ = std::move(tokens);
  return src;
}

Result<std::shared_ptr<TokenSource>> TokenSource::FromConfig(const DataConfig& data, int model_vocab) {
  if (data.source == "demo") {
    return FromTokens(ByteEncode(GenerateDemoCorpus(data.demo_tokens, data.demo_seed)));
  }
  if (data.source == "dataset") {
    OGAI_ASSIGN_OR_RETURN(DatasetSplits s, OpenDatasetSplits(data.dataset, model_vocab));
    return s.train;
  }
  return FromShards(data.paths, static_cast<uint32_t>(model_vocab));
}

Result<DatasetSplits> OpenDatasetSplits(const std::string& dir, int model_vocab) {
  OGAI_ASSIGN_OR_RETURN(DatasetInfo ds, OpenDataset(dir));
  if (ds.vocab > model_vocab) {
    return InvalidArgument("data.dataset '" + dir + "' was tokenized with " + ds.tokenizer + " (vocabulary " +
                           std::to_string(ds.vocab) + ") but model.vocab is " + std::to_string(model_vocab) +
                           "; set model.vocab: " + std::to_string(ds.vocab) + " (or more)");
  }
  DatasetSplits s;
  OGAI_ASSIGN_OR_RETURN(s.train, TokenSource::FromShards(ds.train, static_cast<uint32_t>(model_vocab)));
  if (!ds.val.empty()) {
    OGAI_ASSIGN_OR_RETURN(s.val, TokenSource::FromShards(ds.val, static_cast<uint32_t>(model_vocab)));
  }
  s.info = std::move(ds);
  return s;
}

int64_t TokenSource::total_tokens() const {
  int64_t n = 0;
  for (const auto& d : docs_) n += d.size;
  return n;
}

int64_t TokenSource::document_size(int i) const { return docs_[i].size; }

void TokenSource::Read(int doc, int64_t begin, int64_t n, int32_t* out) const {
  const Doc& d = docs_[doc];
  if (d.shard < 0) {
    std::copy(memory_.begin() + begin, memory_.begin() + begin + n, out);
  } else {
    shards_[d.shard]->Read(begin, n, out);
  }
}

Result<std::unique_ptr<DataLoader>> DataLoader::Create(std::shared_ptr<TokenSource> source, int seq_len,
                                                       uint64_t seed) {
  std::unique_ptr<DataLoader> dl(new DataLoader());
  dl->source_ = std::move(source);
  dl->seq_len_ = seq_len;
  dl->seed_ = seed;
  dl->window_start_.push_back(0);
  for (int i = 0; i < dl->source_->num_documents(); ++i) {
    const int64_t n = dl->source_->document_size(i);
    const int64_t w = n > seq_len ? (n - 1) / seq_len : 0;
    dl->window_start_.push_back(dl->window_start_.back() + w);
  }
  dl->total_windows_ = dl->window_start_.back();
  if (dl->total_windows_ == 0) {
    return InvalidArgument("the training data holds " + std::to_string(dl->source_->total_tokens()) +
                           " tokens, fewer than one window of model.seq_len + 1 = " + std::to_string(seq_len + 1) +
                           "; add data or lower model.seq_len");
  }
  return dl;
}

int64_t DataLoader::WindowOf(int64_t g) const {
  const uint64_t w = static_cast<uint64_t>(total_windows_);
  const uint64_t epoch = static_cast<uint64_t>(g) / w;
  const uint64_t pos = static_cast<uint64_t>(g) % w;
  return static_cast<int64_t>(PermuteIndex(pos, w, Mix64(seed_ ^ Mix64(epoch + 1))));
}

void DataLoader::GetSamples(int64_t first, int count, int32_t* inputs, int32_t* targets) const {
  std::vector<int32_t> buf(static_cast<size_t>(seq_len_) + 1);
  for (int s = 0; s < count; ++s) {
    const int64_t win = WindowOf(first + s);
    const auto it = std::upper_bound(window_start_.begin(), window_start_.end(), win);
    const int doc = static_cast<int>(it - window_start_.begin()) - 1;
    const int64_t offset = (win - window_start_[doc]) * seq_len_;
    source_->Read(doc, offset, seq_len_ + 1, buf.data());
    std::copy(buf.begin(), buf.end() - 1, inputs + static_cast<int64_t>(s) * seq_len_);
    std::copy(buf.begin() + 1, buf.end(), targets + static_cast<int64_t>(s) * seq_len_);
  }
}

}  // namespace ogai::data
