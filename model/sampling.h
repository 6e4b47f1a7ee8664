// Choosing the next token from logits: greedy, or sampling with temperature, top-k and
// top-p (nucleus). Deterministic for a seed: the draw is the (seed, step) counter-based
// uniform, so the same seed gives the same text.
#pragma once

#include <cstdint>

namespace ogai::model {

struct SamplingOptions {
  double temperature = 1.0;  // 0: greedy (argmax; the lowest token id on ties)
  int top_k = 0;             // 0: no limit
  double top_p = 1.0;        // keep the smallest set of tokens whose probability sums to >= top_p
  uint64_t seed = 0;
};

// The token drawn from logits[vocab] for draw number `step`.
int32_t SampleToken(const float* logits, int vocab, const SamplingOptions& opt, uint64_t step);

}  // namespace ogai::model
