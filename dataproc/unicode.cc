#include "dataproc/unicode.h"

#include <memory>
#include <mutex>

#include <unicode/uchar.h>

namespace ogai::data {
namespace {

constexpr uint32_t kCodePoints = 0x110000;

const uint8_t* Table() {
  static std::once_flag once;
  static std::unique_ptr<uint8_t[]> table;
  std::call_once(once, [] {
    table.reset(new uint8_t[kCodePoints]);
    for (uint32_t cp = 0; cp < kCodePoints; ++cp) {
      CharClass c = CharClass::kOther;
      if (u_isUWhiteSpace(static_cast<UChar32>(cp))) {
        c = CharClass::kSpace;
      } else {
        switch (u_charType(static_cast<UChar32>(cp))) {
          case U_UPPERCASE_LETTER:
          case U_LOWERCASE_LETTER:
          case U_TITLECASE_LETTER:
          case U_MODIFIER_LETTER:
          case U_OTHER_LETTER: c = CharClass::kLetter; break;
          case U_DECIMAL_DIGIT_NUMBER:
          case U_LETTER_NUMBER:
          case U_OTHER_NUMBER: c = CharClass::kNumber; break;
          default: break;
        }
      }
      table[cp] = static_cast<uint8_t>(c);
    }
  });
  return table.get();
}

}  // namespace

CharClass ClassOf(uint32_t cp) {
  static const uint8_t* t = Table();
  return cp < kCodePoints ? static_cast<CharClass>(t[cp]) : CharClass::kOther;
}

uint32_t DecodeUtf8(std::string_view s, size_t i, int* len) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  *len = 1;
  if (c < 0x80) return c;
  int n;
  uint32_t cp, min;
  if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0xFFFD;
  }
  if (i + n > s.size()) return 0xFFFD;
  for (int k = 1; k < n; ++k) {
    const uint8_t x = b(i + k);
    if ((x & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (x & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0xFFFD;
  *len = n;
  return cp;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    int len;
    const uint32_t cp = DecodeUtf8(s, i, &len);
    if (cp == 0xFFFD && len == 1) return false;
    i += len;
  }
  return true;
}

int64_t RepairUtf8(std::string_view s, std::string* out) {
  out->clear();
  out->reserve(s.size());
  int64_t bad = 0;
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      out->push_back(s[i++]);
      continue;
    }
    int len;
    const uint32_t cp = DecodeUtf8(s, i, &len);
    if (cp == 0xFFFD && len == 1) {
      out->append("\xEF\xBF\xBD");
      ++bad;
    } else {
      out->append(s.substr(i, len));
    }
    i += len;
  }
  return bad;
}

}  // namespace ogai::data
