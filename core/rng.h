// Small deterministic generators used for data order and initialisation. Counter-based
// where it matters: a value depends only on (seed, index), never on how many values were
// drawn before, so shards and layouts see the same numbers.
#pragma once

#include <cstdint>

namespace ogai {

// splitmix64 (Steele, Lea, Flood): a 64-bit mixing function.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t state() const { return state_; }

 private:
  uint64_t state_;
};

// A bijection of [0, n) keyed by `key`: a 4-round Feistel network on the smallest even
// number of bits covering n, with cycle-walking. O(1) memory for any n.
uint64_t PermuteIndex(uint64_t i, uint64_t n, uint64_t key);

// Standard normal from (seed, stream, index) by Box-Muller on two hashed uniforms.
float HashedNormal(uint64_t seed, uint64_t stream, uint64_t index);

}  // namespace ogai
