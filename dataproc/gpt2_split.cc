#include "dataproc/gpt2_split.h"

#include <array>

#include "dataproc/unicode.h"

namespace ogai::data {
namespace {

std::array<CharClass, 128> AsciiClasses() {
  std::array<CharClass, 128> t{};
  for (uint32_t c = 0; c < 128; ++c) t[c] = ClassOf(c);
  return t;
}

// The class of the character at s[i] and its byte length.
inline CharClass ClassAt(std::string_view s, size_t i, int* len) {
  static const std::array<CharClass, 128> ascii = AsciiClasses();
  const uint8_t c = static_cast<uint8_t>(s[i]);
  if (c < 0x80) {
    *len = 1;
    return ascii[c];
  }
  const uint32_t cp = DecodeUtf8(s, i, len);
  // An invalid byte is one character of class "other" (it is not U+FFFD text).
  return ClassOf(cp);
}

}  // namespace

size_t Gpt2PieceEnd(std::string_view s, size_t i) {
  const size_t n = s.size();
  // 's 't 're 've 'm 'll 'd
  if (s[i] == '\'' && i + 1 < n) {
    const char a = s[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if (i + 2 < n) {
      const char b = s[i + 2];
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    }
  }
  int len;
  CharClass c = ClassAt(s, i, &len);
  size_t j = i;
  if (s[i] == ' ' && i + 1 < n) {
    int len1;
    const CharClass c1 = ClassAt(s, i + 1, &len1);
    if (c1 != CharClass::kSpace) {  // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+"
      c = c1;
      j = i + 1;
      len = len1;
    }
  }
  if (c != CharClass::kSpace) {
    size_t k = j + len;
    while (k < n && ClassAt(s, k, &len) == c) k += len;
    return k;
  }
  // \s+(?!\S) | \s+ : a run of white space, less its last character when a non-space follows
  // and the run has more than one character.
  size_t k = i, last = i;
  while (k < n && ClassAt(s, k, &len) == CharClass::kSpace) {
    last = k;
    k += len;
  }
  if (k == n || last == i) return k;
  return last;
}

}  // namespace ogai::data
