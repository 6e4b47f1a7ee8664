#include "rank/slurm_env.h"

#include <cctype>
#include <cstdio>

namespace ogai::launch {
namespace {

bool ParseUnsigned(const std::string& s, long* out) {
  if (s.empty() || s.size() > 9) return false;
  long v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// Splits on commas that are not inside brackets.
std::vector<std::string> SplitTopLevel(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// Expands one bracket body "01-03,7" into strings.
Result<std::vector<std::string>> ExpandRanges(const std::string& body, const std::string& whole) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= body.size()) {
    size_t comma = body.find(',', start);
    std::string part = body.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t dash = part.find('-');
    std::string lo_s = part.substr(0, dash);
    std::string hi_s = dash == std::string::npos ? lo_s : part.substr(dash + 1);
    long lo = 0, hi = 0;
    if (!ParseUnsigned(lo_s, &lo) || !ParseUnsigned(hi_s, &hi) || hi < lo || hi - lo > 100000) {
      return InvalidArgument("bad range '" + part + "' in Slurm host list '" + whole + "'");
    }
    int width = static_cast<int>(lo_s.size());
    for (long v = lo; v <= hi; ++v) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%0*ld", width, v);
      out.push_back(buf);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> ExpandSlurmHostlist(const std::string& list) {
  std::vector<std::string> hosts;
  if (list.empty()) return InvalidArgument("empty Slurm host list");
  for (const std::string& item : SplitTopLevel(list)) {
    if (item.empty()) return InvalidArgument("empty entry in Slurm host list '" + list + "'");
    std::vector<std::string> partial = {""};
    size_t i = 0;
    while (i < item.size()) {
      if (item[i] == '[') {
        size_t close = item.find(']', i);
        if (close == std::string::npos) {
          return InvalidArgument("unclosed '[' in Slurm host list '" + list + "'");
        }
        OGAI_ASSIGN_OR_RETURN(auto values, ExpandRanges(item.substr(i + 1, close - i - 1), list));
        std::vector<std::string> next;
        for (const auto& p : partial)
          for (const auto& v : values) next.push_back(p + v);
        partial.swap(next);
        i = close + 1;
      } else if (item[i] == ']') {
        return InvalidArgument("unmatched ']' in Slurm host list '" + list + "'");
      } else {
        for (auto& p : partial) p += item[i];
        ++i;
      }
    }
    hosts.insert(hosts.end(), partial.begin(), partial.end());
  }
  return hosts;
}

Result<std::vector<int>> ExpandSlurmCounts(const std::string& counts) {
  std::vector<int> out;
  if (counts.empty()) return InvalidArgument("empty Slurm count list");
  for (const std::string& item : SplitTopLevel(counts)) {
    std::string n_s = item, rep_s = "1";
    size_t paren = item.find("(x");
    if (paren != std::string::npos) {
      if (item.back() != ')') {
        return InvalidArgument("bad entry '" + item + "' in Slurm count list '" + counts + "'");
      }
      n_s = item.substr(0, paren);
      rep_s = item.substr(paren + 2, item.size() - paren - 3);
    }
    long n = 0, rep = 0;
    if (!ParseUnsigned(n_s, &n) || !ParseUnsigned(rep_s, &rep) || rep > 100000) {
      return InvalidArgument("bad entry '" + item + "' in Slurm count list '" + counts + "'");
    }
    for (long k = 0; k < rep; ++k) out.push_back(static_cast<int>(n));
  }
  return out;
}

Result<std::optional<SlurmAllocation>> DetectSlurmAllocation(const EnvMap& env) {
  auto get = [&](const char* key) -> const std::string* {
    auto it = env.find(key);
    return it == env.end() ? nullptr : &it->second;
  };
  if (get("SLURM_JOB_ID") == nullptr) return std::optional<SlurmAllocation>();
  const std::string* nodelist = get("SLURM_JOB_NODELIST");
  if (nodelist == nullptr) nodelist = get("SLURM_NODELIST");
  if (nodelist == nullptr) {
    return InvalidArgument(
        "SLURM_JOB_ID is set but SLURM_JOB_NODELIST is not: run ogai-run "
        "inside an allocation (sbatch/salloc), or pass -H");
  }
  SlurmAllocation a;
  a.nodelist = *nodelist;
  OGAI_ASSIGN_OR_RETURN(a.hosts, ExpandSlurmHostlist(*nodelist));
  const std::string* tpn = get("SLURM_TASKS_PER_NODE");
  if (tpn == nullptr) tpn = get("SLURM_JOB_CPUS_PER_NODE");
  a.slots.assign(a.hosts.size(), 1);
  if (tpn != nullptr) {
    OGAI_ASSIGN_OR_RETURN(auto counts, ExpandSlurmCounts(*tpn));
    for (size_t i = 0; i < a.hosts.size() && i < counts.size(); ++i) a.slots[i] = counts[i];
  }
  return std::optional<SlurmAllocation>(std::move(a));
}

std::string SlurmNodeName(const EnvMap& env) {
  auto it = env.find("SLURMD_NODENAME");
  return it == env.end() ? std::string() : it->second;
}

}  // namespace ogai::launch
