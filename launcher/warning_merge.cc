#include "launcher/warning_merge.h"

#include <algorithm>
#include <cctype>

namespace ogai::launch {
namespace {

// "[NAME rank N] W: text" -> name, rank, text.
bool ParseRankWarning(std::string_view line, std::string* name, int* rank, std::string* text) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.empty() || line[0] != '[') return false;
  const size_t close = line.find("] W: ");
  if (close == std::string_view::npos) return false;
  const std::string_view head = line.substr(1, close - 1);
  if (head.find_first_of("[]") != std::string_view::npos) return false;  // --tag-output's "[3] [...]"
  const size_t r = head.rfind(" rank ");
  if (r == std::string_view::npos || r == 0) return false;
  const std::string_view digits = head.substr(r + 6);
  if (digits.empty() || digits.size() > 9) return false;
  for (char c : digits)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  *name = std::string(head.substr(0, r));
  *rank = std::stoi(std::string(digits));
  *text = std::string(line.substr(close + 5));
  return true;
}

}  // namespace

std::string RankList(std::vector<int> ranks) {
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  std::string out;
  for (size_t i = 0; i < ranks.size();) {
    size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(ranks[i]);
    if (j > i) out += (j == i + 1 ? "," : "-") + std::to_string(ranks[j]);
    i = j + 1;
  }
  return out;
}

bool WarningMerger::Add(std::string_view line, double now) {
  std::string name, text;
  int rank = 0;
  if (!ParseRankWarning(line, &name, &rank, &text)) return false;
  for (Held& h : held_) {
    if (h.name == name && h.text == text && std::find(h.ranks.begin(), h.ranks.end(), rank) == h.ranks.end()) {
      h.ranks.push_back(rank);
      return true;
    }
  }
  held_.push_back({std::move(name), std::move(text), {rank}, now});
  return true;
}

std::vector<std::string> WarningMerger::Due(double now, bool all) {
  std::vector<std::string> out;
  auto due = [&](const Held& h) { return all || now - h.first >= window_s_; };
  for (const Held& h : held_) {
    if (!due(h)) continue;
    const bool one = h.ranks.size() == 1;
    out.push_back("[" + h.name + (one ? " rank " : " ranks ") + RankList(h.ranks) + "] W: " + h.text + "\n");
  }
  held_.erase(std::remove_if(held_.begin(), held_.end(), due), held_.end());
  return out;
}

}  // namespace ogai::launch
