// The few Unicode facts the data pipeline needs: UTF-8 decoding and repair, and the
// character classes of GPT-2's pre-tokenizer (letter \p{L}, number \p{N}, white space \s).
//
// The classes come from ICU (libicu, the Unicode library every Linux distribution ships),
// read once into a flat table of one byte per code point, so classifying costs a load.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ogai::data {

enum class CharClass : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3 };

// The class of code point `cp` (0..0x10FFFF); kOther beyond.
CharClass ClassOf(uint32_t cp);

// Decodes the code point at s[i]; sets *len to its byte length. An invalid or truncated
// sequence decodes as U+FFFD with *len = 1 (the caller sees one bad byte at a time).
uint32_t DecodeUtf8(std::string_view s, size_t i, int* len);

// True if `s` is valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// `s` with each invalid byte replaced by U+FFFD; returns how many were replaced.
int64_t RepairUtf8(std::string_view s, std::string* out);

}  // namespace ogai::data
