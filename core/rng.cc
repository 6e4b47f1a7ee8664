#include "core/rng.h"

#include <cmath>

namespace ogai {

uint64_t PermuteIndex(uint64_t i, uint64_t n, uint64_t key) {
  if (n <= 1) return 0;
  int bits = 64 - __builtin_clzll(n - 1);
  if (bits < 2) bits = 2;
  if (bits % 2) ++bits;
  const int half = bits / 2;
  const uint64_t mask = (1ull << half) - 1;
  uint64_t x = i;
  do {
    uint64_t l = x >> half, r = x & mask;
    for (int round = 0; round < 4; ++round) {
      const uint64_t f = Mix64(r ^ Mix64(key + static_cast<uint64_t>(round))) & mask;
      const uint64_t nl = r;
      r = l ^ f;
      l = nl;
    }
    x = (l << half) | r;
  } while (x >= n);  // cycle-walk back into [0, n)
  return x;
}

float HashedNormal(uint64_t seed, uint64_t stream, uint64_t index) {
  const uint64_t h1 = Mix64(Mix64(seed ^ Mix64(stream)) + 2 * index);
  const uint64_t h2 = Mix64(Mix64(seed ^ Mix64(stream)) + 2 * index + 1);
  // Uniforms in (0, 1] and [0, 1).
  const double u1 = (static_cast<double>(h1 >> 11) + 1.0) * (1.0 / 9007199254740992.0);
  const double u2 = static_cast<double>(h2 >> 11) * (1.0 / 9007199254740992.0);
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
}

}  // namespace ogai
