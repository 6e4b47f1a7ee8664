#include "dataproc/minhash.h"

#include <algorithm>
#include <string>

#include "core/rng.h"
#include "dataproc/bpe.h"

namespace ogai::data {

MinHasher::MinHasher(int bands, int rows, int ngram, uint64_t seed) : bands_(bands), rows_(rows), ngram_(ngram) {
  SplitMix64 rng(seed ^ 0x6d696e68617368ull);
  for (int k = 0; k < bands * rows; ++k) {
    a_.push_back(rng.Next() | 1);
    b_.push_back(rng.Next());
  }
}

void MinHasher::Shingles(std::string_view text, std::vector<uint64_t>* out) const {
  out->clear();
  std::vector<uint64_t> words;
  std::string w;
  auto flush = [&] {
    if (!w.empty()) words.push_back(HashBytes(w));
    w.clear();
  };
  for (char ch : text) {
    const unsigned char u = static_cast<unsigned char>(ch);
    if (u == ' ' || u == '\n' || u == '\t' || u == '\r' || u == '\f' || u == '\v') {
      flush();
    } else if (u < 0x80 && !std::isalnum(u)) {
      continue;  // punctuation
    } else {
      w.push_back(u < 0x80 ? static_cast<char>(std::tolower(u)) : ch);
    }
  }
  flush();
  if (words.empty()) return;
  const size_t n = std::min<size_t>(static_cast<size_t>(ngram_), words.size());
  for (size_t i = 0; i + n <= words.size(); ++i) {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (size_t k = 0; k < n; ++k) h = Mix64(h ^ words[i + k]);
    out->push_back(h);
  }
}

void MinHasher::Signature(std::string_view text, std::vector<uint32_t>* sig) const {
  std::vector<uint64_t> sh;
  Shingles(text, &sh);
  const int K = size();
  sig->assign(K, 0xFFFFFFFFu);
  uint32_t* s = sig->data();
  const uint64_t* a = a_.data();
  const uint64_t* b = b_.data();
  for (uint64_t x : sh) {
    for (int k = 0; k < K; ++k) {
      const uint32_t v = static_cast<uint32_t>((a[k] * x + b[k]) >> 32);
      s[k] = std::min(s[k], v);
    }
  }
}

void MinHasher::BandHashes(const std::vector<uint32_t>& sig, std::vector<uint64_t>* out) const {
  out->resize(bands_);
  for (int band = 0; band < bands_; ++band) {
    uint64_t h = Mix64(0xB5AD4ECEDA1CE2A9ull + static_cast<uint64_t>(band));
    for (int r = 0; r < rows_; ++r) h = Mix64(h ^ sig[band * rows_ + r]);
    (*out)[band] = h;
  }
}

double EstimatedJaccard(const uint32_t* a, const uint32_t* b, int n) {
  int eq = 0;
  for (int k = 0; k < n; ++k) eq += a[k] == b[k];
  return n ? static_cast<double>(eq) / n : 0.0;
}

}  // namespace ogai::data
