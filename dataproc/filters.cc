#include "dataproc/filters.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "dataproc/bpe.h"

namespace ogai::data {
namespace {

enum Rule {
  kLength,
  kQWords,
  kQMeanLen,
  kQSymbols,
  kQBullets,
  kQEllipsis,
  kQAlpha,
  kQStop,
  kRLines,
  kRParas,
  kRLineChars,
  kRParaChars,
  kRTopNgram,
  kRDupNgram,
  kC4Lorem,
  kC4Curly,
  kC4Sentences,
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::vector<std::string_view> Split(std::string_view t, bool (*sep)(char)) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < t.size()) {
    while (i < t.size() && sep(t[i])) ++i;
    size_t j = i;
    while (j < t.size() && !sep(t[j])) ++j;
    if (j > i) out.push_back(t.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string_view> Words(std::string_view t) { return Split(t, IsSpace); }
std::vector<std::string_view> Lines(std::string_view t) {
  return Split(t, [](char c) { return c == '\n'; });
}
std::vector<std::string_view> Paragraphs(std::string_view t) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < t.size()) {
    size_t j = t.find("\n\n", i);
    if (j == std::string_view::npos) j = t.size();
    if (j > i) out.push_back(t.substr(i, j - i));
    i = j;
    while (i < t.size() && t[i] == '\n') ++i;
  }
  return out;
}

bool EndsWith(std::string_view s, std::string_view x) {
  return s.size() >= x.size() && s.substr(s.size() - x.size()) == x;
}

std::string Lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

// Duplicate elements: (fraction of elements that repeat an earlier one, fraction of chars in them).
std::pair<double, double> DupFractions(const std::vector<std::string_view>& items) {
  if (items.empty()) return {0, 0};
  std::unordered_set<std::string_view> seen;
  int64_t dup = 0, dup_chars = 0, chars = 0;
  for (auto x : items) {
    chars += static_cast<int64_t>(x.size());
    if (!seen.insert(x).second) {
      ++dup;
      dup_chars += static_cast<int64_t>(x.size());
    }
  }
  return {static_cast<double>(dup) / items.size(), chars ? static_cast<double>(dup_chars) / chars : 0};
}

uint64_t NgramHash(const std::vector<uint64_t>& wh, size_t i, int n) {
  uint64_t h = 0x9E3779B97F4A7C15ull * n;
  for (int k = 0; k < n; ++k) h = (h ^ wh[i + k]) * 0xBF58476D1CE4E5B9ull + k;
  return h;
}

}  // namespace

const std::vector<std::string>& Filters::RuleNames() {
  static const std::vector<std::string> names = {
      "length",
      "gopher_quality.words",
      "gopher_quality.mean_word_len",
      "gopher_quality.symbol_ratio",
      "gopher_quality.bullet_lines",
      "gopher_quality.ellipsis_lines",
      "gopher_quality.alpha_words",
      "gopher_quality.stop_words",
      "gopher_repetition.dup_lines",
      "gopher_repetition.dup_paras",
      "gopher_repetition.dup_line_chars",
      "gopher_repetition.dup_para_chars",
      "gopher_repetition.top_ngram",
      "gopher_repetition.dup_ngram",
      "c4.lorem_ipsum",
      "c4.curly_bracket",
      "c4.sentences",
  };
  return names;
}

Filters::Filters(const PrepareConfig& cfg) : cfg_(cfg) {}

int Filters::Apply(std::string* text, int64_t* lines_removed) const {
  int r = -1;
  if (cfg_.length.enabled && (r = Length(*text)) >= 0) return r;
  if (cfg_.gopher_repetition.enabled && (r = Repetition(*text)) >= 0) return r;
  if (cfg_.gopher_quality.enabled && (r = Quality(*text)) >= 0) return r;
  if (cfg_.c4.enabled && (r = C4(text, lines_removed)) >= 0) return r;
  return -1;
}

int Filters::Length(const std::string& t) const {
  const auto& c = cfg_.length;
  const int64_t chars = static_cast<int64_t>(t.size());
  if (chars < c.min_chars || (c.max_chars > 0 && chars > c.max_chars)) return kLength;
  if (c.min_words > 0 || c.max_words > 0) {
    const int64_t w = static_cast<int64_t>(Words(t).size());
    if (w < c.min_words || (c.max_words > 0 && w > c.max_words)) return kLength;
  }
  return -1;
}

int Filters::Quality(const std::string& t) const {
  const auto& c = cfg_.gopher_quality;
  const auto words = Words(t);
  // Words that are not only punctuation count for the word count and mean length.
  int64_t n = 0, len = 0, alpha = 0, stop = 0;
  static const std::unordered_set<std::string> kStop = {"the", "be", "to", "of", "and", "that", "have", "with"};
  for (auto w : words) {
    bool has_alpha = false, all_punct = true;
    for (char ch : w) {
      const unsigned char u = static_cast<unsigned char>(ch);
      if (std::isalpha(u) || u >= 0x80) has_alpha = true;
      if (!std::ispunct(u)) all_punct = false;
    }
    if (!all_punct) {
      ++n;
      len += static_cast<int64_t>(w.size());
    }
    if (has_alpha) ++alpha;
    if (w.size() <= 4 && kStop.count(Lower(w))) ++stop;
  }
  if (n < c.min_words || n > c.max_words) return kQWords;
  const double mean = n ? static_cast<double>(len) / n : 0;
  if (mean < c.min_mean_word_len || mean > c.max_mean_word_len) return kQMeanLen;
  int64_t hashes = std::count(t.begin(), t.end(), '#');
  int64_t ellipses = 0;
  for (size_t p = t.find("..."); p != std::string::npos; p = t.find("...", p + 3)) ++ellipses;
  for (size_t p = t.find("\xE2\x80\xA6"); p != std::string::npos; p = t.find("\xE2\x80\xA6", p + 3)) ++ellipses;
  if (static_cast<double>(hashes) / n > c.max_symbol_word_ratio ||
      static_cast<double>(ellipses) / n > c.max_symbol_word_ratio) {
    return kQSymbols;
  }
  const auto lines = Lines(t);
  if (!lines.empty()) {
    int64_t bullets = 0, ell = 0;
    for (auto l : lines) {
      size_t i = 0;
      while (i < l.size() && IsSpace(l[i])) ++i;
      auto s = l.substr(i);
      if (s.starts_with("\xE2\x80\xA2") || s.starts_with("- ") || s.starts_with("* ")) ++bullets;
      while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
      if (EndsWith(s, "...") || EndsWith(s, "\xE2\x80\xA6")) ++ell;
    }
    if (static_cast<double>(bullets) / lines.size() > c.max_bullet_lines) return kQBullets;
    if (static_cast<double>(ell) / lines.size() > c.max_ellipsis_lines) return kQEllipsis;
  }
  if (!words.empty() && static_cast<double>(alpha) / words.size() < c.min_alpha_words) return kQAlpha;
  if (stop < c.min_stop_words) return kQStop;
  return -1;
}

int Filters::Repetition(const std::string& t) const {
  const auto& c = cfg_.gopher_repetition;
  const auto [para_frac, para_chars] = DupFractions(Paragraphs(t));
  if (para_frac > c.dup_para_frac) return kRParas;
  if (para_chars > c.dup_para_char_frac) return kRParaChars;
  const auto [line_frac, line_chars] = DupFractions(Lines(t));
  if (line_frac > c.dup_line_frac) return kRLines;
  if (line_chars > c.dup_line_char_frac) return kRLineChars;
  const auto words = Words(t);
  if (words.empty()) return -1;
  std::vector<uint64_t> wh(words.size());
  std::vector<int64_t> prefix(words.size() + 1, 0);  // chars of words [0, i)
  for (size_t i = 0; i < words.size(); ++i) {
    wh[i] = HashBytes(words[i]);
    prefix[i + 1] = prefix[i] + static_cast<int64_t>(words[i].size());
  }
  const double total = static_cast<double>(prefix.back());
  const double top[] = {c.top_2gram, c.top_3gram, c.top_4gram};
  for (int n = 2; n <= 4; ++n) {
    if (words.size() < static_cast<size_t>(n)) break;
    std::unordered_map<uint64_t, std::pair<int64_t, size_t>> count;  // hash -> (count, first index)
    std::pair<int64_t, size_t> best{0, 0};
    for (size_t i = 0; i + n <= words.size(); ++i) {
      auto& e = count[NgramHash(wh, i, n)];
      if (e.first++ == 0) e.second = i;
      if (e.first > best.first) best = e;
    }
    if (best.first > 1) {
      const double chars = static_cast<double>(prefix[best.second + n] - prefix[best.second]) * best.first;
      if (chars / total > top[n - 2]) return kRTopNgram;
    }
  }
  const double dup[] = {c.dup_5gram, c.dup_6gram, c.dup_7gram, c.dup_8gram, c.dup_9gram, c.dup_10gram};
  for (int n = 5; n <= 10; ++n) {
    if (words.size() < static_cast<size_t>(n)) break;
    std::unordered_set<uint64_t> seen;
    std::vector<bool> covered(words.size(), false);
    for (size_t i = 0; i + n <= words.size(); ++i) {
      if (!seen.insert(NgramHash(wh, i, n)).second) {
        for (int k = 0; k < n; ++k) covered[i + k] = true;
      }
    }
    int64_t chars = 0;
    for (size_t i = 0; i < words.size(); ++i)
      if (covered[i]) chars += static_cast<int64_t>(words[i].size());
    if (chars / total > dup[n - 5]) return kRDupNgram;
  }
  return -1;
}

int Filters::C4(std::string* t, int64_t* lines_removed) const {
  const auto& c = cfg_.c4;
  const std::string lower = Lower(*t);
  if (c.drop_lorem && lower.find("lorem ipsum") != std::string::npos) return kC4Lorem;
  if (c.drop_curly && t->find('{') != std::string::npos) return kC4Curly;
  static const char* kPolicy[] = {"terms of use", "privacy policy", "cookie policy",
                                  "uses cookies", "use of cookies", "use cookies"};
  std::string out;
  out.reserve(t->size());
  int64_t sentences = 0;
  size_t i = 0;
  while (i <= t->size()) {
    size_t j = t->find('\n', i);
    if (j == std::string::npos) j = t->size();
    std::string_view line(t->data() + i, j - i);
    const std::string_view lline(lower.data() + i, j - i);
    i = j + 1;
    while (!line.empty() && IsSpace(line.back())) line.remove_suffix(1);
    while (!line.empty() && IsSpace(line.front())) line.remove_prefix(1);
    if (line.empty()) continue;
    bool keep = true;
    if (c.terminal_punct) {
      const char last = line.back();
      keep = (last == '.' || last == '!' || last == '?' || last == '"' || last == '\'') && !EndsWith(line, "...");
    }
    const auto words = Words(line);
    if (keep && static_cast<int64_t>(words.size()) < c.min_words_per_line) keep = false;
    if (keep)
      for (auto w : words)
        if (static_cast<int64_t>(w.size()) > c.max_word_len) keep = false;
    if (keep && c.drop_javascript && lline.find("javascript") != std::string_view::npos) keep = false;
    if (keep && c.drop_policy)
      for (const char* p : kPolicy)
        if (lline.find(p) != std::string_view::npos) keep = false;
    if (!keep) {
      ++*lines_removed;
      continue;
    }
    for (size_t k = 0; k < line.size(); ++k) {
      const char ch = line[k];
      if ((ch == '.' || ch == '!' || ch == '?') && (k + 1 == line.size() || IsSpace(line[k + 1]))) ++sentences;
    }
    if (!out.empty()) out.push_back('\n');
    out.append(line);
  }
  if (sentences < c.min_sentences) return kC4Sentences;
  *t = std::move(out);
  return -1;
}

// ---- PII -------------------------------------------------------------------------------

namespace {

bool LocalChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool DomainChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; }
bool Digit(char c) { return c >= '0' && c <= '9'; }

// The end of an IPv4 address starting at s[i], or i when there is none.
size_t Ipv4End(const std::string& s, size_t i) {
  size_t k = i;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (k >= s.size() || s[k] != '.') return i;
      ++k;
    }
    size_t b = k;
    int v = 0;
    while (k < s.size() && Digit(s[k]) && k - b < 3) v = v * 10 + (s[k++] - '0');
    if (k == b || v > 255 || (k < s.size() && Digit(s[k]))) return i;
  }
  if (k < s.size() && (s[k] == '.' && k + 1 < s.size() && Digit(s[k + 1]))) return i;
  return k;
}

}  // namespace

void MaskPii(const PiiConfig& cfg, std::string* text, int64_t* emails, int64_t* ips) {
  if (!cfg.enabled) return;
  const std::string& s = *text;
  if (s.find('@') == std::string::npos && (!cfg.ip || s.find('.') == std::string::npos)) return;
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (cfg.email && s[i] == '@' && i > 0 && LocalChar(s[i - 1])) {
      // local part back from '@' (already copied into out: take it back), domain forward.
      size_t b = i;
      while (b > 0 && LocalChar(s[b - 1])) --b;
      size_t e = i + 1;
      while (e < s.size() && DomainChar(s[e])) ++e;
      while (e > i + 1 && (s[e - 1] == '.' || s[e - 1] == '-')) --e;
      const std::string_view dom(s.data() + i + 1, e - i - 1);
      const size_t dot = dom.rfind('.');
      if (dot != std::string_view::npos && dot > 0 && dom.size() - dot - 1 >= 2 && out.size() >= i - b) {
        out.resize(out.size() - (i - b));
        out += "<EMAIL>";
        ++*emails;
        i = e;
        continue;
      }
    }
    if (cfg.ip && Digit(s[i]) && (i == 0 || (!Digit(s[i - 1]) && s[i - 1] != '.'))) {
      const size_t e = Ipv4End(s, i);
      if (e > i) {
        out += "<IP>";
        ++*ips;
        i = e;
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  *text = std::move(out);
}

}  // namespace ogai::data
