// GPT-2's pre-tokenizer: the split of text into pieces that BPE merges within, written by
// hand after GPT-2's pattern (as tiktoken's "gpt2" encoding uses it):
//
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// Alternatives are tried in order at each position (leftmost-first, greedy), so a run of
// white space before a word leaves its last space to the word (" hello"), contractions are
// lower-case only, and a letter followed by a combining mark ends its letter run.
#pragma once

#include <cstddef>
#include <string_view>

namespace ogai::data {

// The end of the piece that starts at s[i] (i < s.size()).
size_t Gpt2PieceEnd(std::string_view s, size_t i);

}  // namespace ogai::data
