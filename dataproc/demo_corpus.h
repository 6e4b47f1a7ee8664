// The built-in demo corpus: seeded, generated text with structure a tiny model can learn
// in a few hundred steps (a small grammar of sentences, counting, and additions with their
// sums), so `ogai-run examples/tiny.yaml` shows a falling loss with no download.
#pragma once

#include <cstdint>
#include <string>

namespace ogai::data {

// Exactly `bytes` bytes of text; the same (bytes, seed) always gives the same text.
std::string GenerateDemoCorpus(int64_t bytes, uint64_t seed);

}  // namespace ogai::data
