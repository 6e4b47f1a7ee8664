// GPT-2's byte-level BPE, loaded from the standard encoder.json + vocab.bpe pair, giving
// exactly the tokens of tiktoken's "gpt2" encoding (encode_ordinary: "<|endoftext|>" inside
// a text is ordinary text; documents are separated by appending eot()).
//
// Encoding splits the text with GPT-2's pattern (gpt2_split.h), then merges each piece's
// bytes as tiktoken does: a piece that is itself a token is that token; otherwise the
// adjacent pair whose concatenation has the lowest rank (= token id) is merged, leftmost
// first, until no pair is a token. Pair ranks come from a hash table built at load; pieces
// already seen are answered from a per-thread cache (BpeCache).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace ogai::data {

// Remembers the tokens of pieces seen before. One per thread; not shared.
class BpeCache {
 public:
  explicit BpeCache(size_t max_bytes = 64 << 20);
  // The tokens of `piece` if cached (hash = its 64-bit hash).
  const int32_t* Find(std::string_view piece, uint64_t hash, int* count) const;
  void Insert(std::string_view piece, uint64_t hash, const int32_t* tokens, int count);

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t key_off = 0, tok_off = 0;
    uint16_t key_len = 0, tok_len = 0;  // key_len 0: empty slot
  };
  void Clear();
  size_t max_bytes_;
  std::vector<Slot> slots_;
  size_t used_ = 0;
  std::string keys_;
  std::vector<int32_t> tokens_;
};

class Gpt2Bpe {
 public:
  // Reads encoder.json (token string -> id, in GPT-2's byte-to-character alphabet) and
  // vocab.bpe (the merges, first line "#version"). Errors name the file and what is wrong.
  static Result<std::unique_ptr<Gpt2Bpe>> Load(const std::string& encoder_json, const std::string& vocab_bpe);
  // The pair in `dir` (encoder.json, vocab.bpe).
  static Result<std::unique_ptr<Gpt2Bpe>> LoadDir(const std::string& dir);

  int vocab_size() const { return static_cast<int>(token_bytes_.size()); }
  int eot() const { return eot_; }  // <|endoftext|>, or -1 when the vocabulary has none

  // Appends the tokens of `text` to *out. `cache` may be null (slower).
  void Encode(std::string_view text, std::vector<int32_t>* out, BpeCache* cache) const;
  // The bytes of the tokens (eot included as its text); ids out of range are skipped.
  std::string Decode(std::span<const int32_t> tokens) const;
  const std::string& TokenBytes(int id) const { return token_bytes_[id]; }

 private:
  Gpt2Bpe() = default;
  void EncodePiece(std::string_view piece, std::vector<int32_t>* out) const;
  int32_t PairToken(int32_t a, int32_t b) const;

  std::vector<std::string> token_bytes_;
  std::unordered_map<std::string, int32_t> ids_;
  int32_t byte_token_[256] = {};
  int eot_ = -1;
  // Open-addressing table: key (a << 32 | b) -> the token whose bytes are a's then b's.
  std::vector<uint64_t> pair_keys_;
  std::vector<int32_t> pair_vals_;
  uint64_t pair_mask_ = 0;
};

// The 64-bit hash the BPE cache and the pipeline use for text (XXH3).
uint64_t HashBytes(std::string_view s);

}  // namespace ogai::data
