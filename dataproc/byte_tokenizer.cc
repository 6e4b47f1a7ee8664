#include "dataproc/byte_tokenizer.h"

namespace ogai::data {

std::vector<int32_t> ByteEncode(const std::string& text) {
  std::vector<int32_t> out(text.size());
  for (size_t i = 0; i < text.size(); ++i) out[i] = static_cast<unsigned char>(text[i]);
  return out;
}

std::string ByteDecode(const std::vector<int32_t>& tokens) {
  std::string out(tokens.size(), '?');
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] >= 0 && tokens[i] < 256) out[i] = static_cast<char>(tokens[i]);
  return out;
}

}  // namespace ogai::data
