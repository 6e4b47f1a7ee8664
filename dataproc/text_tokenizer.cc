#include "dataproc/text_tokenizer.h"

namespace ogai::data {

Result<std::unique_ptr<TextTokenizer>> TextTokenizer::Load(const std::string& kind, const std::string& vocab_dir) {
  auto t = std::make_unique<TextTokenizer>();
  t->kind_ = kind;
  t->vocab_dir_ = vocab_dir;
  if (kind == "gpt2") {
    OGAI_ASSIGN_OR_RETURN(t->bpe_, Gpt2Bpe::LoadDir(vocab_dir));
    if (t->bpe_->eot() < 0) {
      return InvalidArgument("'" + vocab_dir + "/encoder.json' has no <|endoftext|> token to separate documents");
    }
  } else if (kind != "byte") {
    return InvalidArgument("unknown tokenizer '" + kind + "'; use gpt2 or byte");
  }
  return t;
}

void TextTokenizer::Encode(std::string_view text, std::vector<int32_t>* out, BpeCache* cache) const {
  if (bpe_) {
    bpe_->Encode(text, out, cache);
    return;
  }
  for (char c : text) out->push_back(static_cast<uint8_t>(c));
}

std::string TextTokenizer::Decode(std::span<const int32_t> tokens) const {
  if (bpe_) return bpe_->Decode(tokens);
  std::string s;
  for (int32_t t : tokens) {
    if (t >= 0 && t < 256)
      s.push_back(static_cast<char>(t));
    else if (t == 256)
      s += "<|endoftext|>";
  }
  return s;
}

std::vector<int32_t> TextTokenizer::TokenByteLengths() const {
  std::vector<int32_t> len(static_cast<size_t>(vocab_size()), 1);  // bytes, and the end-of-text token
  if (bpe_) {
    for (int32_t t = 0; t < vocab_size(); ++t) {
      if (t != eot()) len[static_cast<size_t>(t)] = static_cast<int32_t>(bpe_->Decode(std::span(&t, 1)).size());
    }
  }
  return len;
}

}  // namespace ogai::data
