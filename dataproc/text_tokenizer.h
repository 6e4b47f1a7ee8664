// The tokenizer a dataset is made with: GPT-2's BPE (bpe.h) or bytes. Both end every
// document with an end-of-text token: GPT-2's <|endoftext|> (50256), or 256 for bytes (so a
// byte dataset's vocabulary is 257).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "dataproc/bpe.h"

namespace ogai::data {

class TextTokenizer {
 public:
  // kind "gpt2" loads encoder.json + vocab.bpe from vocab_dir; "byte" needs nothing.
  static Result<std::unique_ptr<TextTokenizer>> Load(const std::string& kind, const std::string& vocab_dir);
  const std::string& kind() const { return kind_; }
  int vocab_size() const { return bpe_ ? bpe_->vocab_size() : 257; }
  int eot() const { return bpe_ ? bpe_->eot() : 256; }
  // Appends the tokens of `text` (no end-of-text) to *out.
  void Encode(std::string_view text, std::vector<int32_t>* out, BpeCache* cache) const;
  std::string Decode(std::span<const int32_t> tokens) const;
  // The bytes of text each token id stands for (index: id), so that the text of a token
  // sequence is the sum of its entries long: what bits per byte divides by. The end-of-text
  // token counts one byte (the document break it stands for), as a byte dataset's does.
  std::vector<int32_t> TokenByteLengths() const;
  const std::string& vocab_dir() const { return vocab_dir_; }

 private:
  std::string kind_, vocab_dir_;
  std::unique_ptr<Gpt2Bpe> bpe_;
};

}  // namespace ogai::data
