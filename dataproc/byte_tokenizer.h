// Byte-level tokenizer: token = byte value, 256 symbols. What the demo uses, so the demo
// needs no vocabulary file and no download.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ogai::data {

constexpr int kByteVocab = 256;

std::vector<int32_t> ByteEncode(const std::string& text);
// Tokens outside 0..255 decode as '?'.
std::string ByteDecode(const std::vector<int32_t>& tokens);

}  // namespace ogai::data
