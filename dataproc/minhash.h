// MinHash signatures of documents and their LSH bands, for near-duplicate detection
// (Broder 1997; banding as in Leskovec et al., "Mining of Massive Datasets", ch. 3; FineWeb
// uses 14 bands x 8 rows over word 5-grams).
//
// Text is normalised (ASCII lower case, punctuation dropped, white space collapsed), cut into
// word n-grams (shingles; a text shorter than n words is one shingle), each shingle hashed
// with XXH3, and each of bands x rows functions h_k(x) = high 32 bits of (a_k x + b_k) mod 2^64
// (a_k odd, seeded) keeps its minimum. Two texts with Jaccard similarity J share a band with
// probability 1 - (1 - J^rows)^bands.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace ogai::data {

class MinHasher {
 public:
  MinHasher(int bands, int rows, int ngram, uint64_t seed);
  int size() const { return bands_ * rows_; }
  int bands() const { return bands_; }
  // Signature of `text` (size() values). Empty text: all values 0xFFFFFFFF.
  void Signature(std::string_view text, std::vector<uint32_t>* sig) const;
  // One 64-bit hash per band (the band index mixed in).
  void BandHashes(const std::vector<uint32_t>& sig, std::vector<uint64_t>* out) const;
  // The shingle hashes of `text` (exposed for tests that compute exact Jaccard).
  void Shingles(std::string_view text, std::vector<uint64_t>* out) const;

 private:
  int bands_, rows_, ngram_;
  std::vector<uint64_t> a_, b_;
};

// The fraction of equal positions of two signatures: an estimate of their texts' Jaccard.
double EstimatedJaccard(const uint32_t* a, const uint32_t* b, int n);

}  // namespace ogai::data
