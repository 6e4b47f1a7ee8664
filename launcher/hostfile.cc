#include "launcher/hostfile.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <sstream>

#include "core/file_io.h"

namespace ogai::launch {
namespace {

// A host name (RFC 1123 letters, digits, '-', '.', and '_' as clusters use), an IPv4 address
// or a bracketed or bare IPv6 address. It must not start with '-' or '.': "-Fevilcfg" reached
// ssh as an option (issue 12).
bool ValidHostName(const std::string& h) {
  if (h.empty() || h.size() > 255 || h.front() == '-' || h.front() == '.') return false;
  for (char c : h) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' ||
              c == ']';
    if (!ok) return false;
  }
  return true;
}

bool ParseCount(const std::string& v, int* out) {
  if (v.empty() || v.size() > 7) return false;
  for (char c : v)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  *out = std::atoi(v.c_str());
  return true;
}

void AddOrMerge(std::vector<HostEntry>& hosts, const HostEntry& e) {
  for (HostEntry& h : hosts) {
    if (h.name == e.name) {
      h.slots += e.slots;
      if (e.max_slots > 0) h.max_slots = h.max_slots > 0 ? h.max_slots + e.max_slots : e.max_slots;
      return;
    }
  }
  hosts.push_back(e);
}

}  // namespace

Result<std::vector<HostEntry>> ParseHostfile(const std::string& text, const std::string& source) {
  std::vector<HostEntry> hosts;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string where = source + ":" + std::to_string(lineno);
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string word;
    if (!(words >> word)) continue;  // blank or comment
    if (!ValidHostName(word) || word.find('=') != std::string::npos) {
      return InvalidArgument(where + ": '" + word +
                             "' is not a host name; each line is `host [slots=N] [max_slots=M]`");
    }
    HostEntry e;
    e.name = word;
    while (words >> word) {
      size_t eq = word.find('=');
      std::string key = word.substr(0, eq);
      std::string val = eq == std::string::npos ? "" : word.substr(eq + 1);
      int n = 0;
      if (eq == std::string::npos || !ParseCount(val, &n)) {
        return InvalidArgument(where + ": cannot read '" + word +
                               "'; expected slots=N or max_slots=M with N, M whole numbers");
      }
      if (key == "slots" || key == "count" || key == "cpu") {
        if (n < 1) return InvalidArgument(where + ": slots must be at least 1, got " + val);
        e.slots = n;
      } else if (key == "max_slots" || key == "max-slots" || key == "slots_max") {
        e.max_slots = n;
      } else {
        return InvalidArgument(where + ": unknown attribute '" + key + "'; a line is `host [slots=N] [max_slots=M]`");
      }
    }
    if (e.max_slots > 0 && e.max_slots < e.slots) {
      return InvalidArgument(where + ": max_slots=" + std::to_string(e.max_slots) +
                             " is below slots=" + std::to_string(e.slots));
    }
    AddOrMerge(hosts, e);
  }
  if (hosts.empty()) {
    return InvalidArgument(source + ": the hostfile names no hosts (one `host slots=N` per line)");
  }
  return hosts;
}

Result<std::vector<HostEntry>> ReadHostfile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status().WithContext("cannot read hostfile");
  return ParseHostfile(*text, path);
}

Result<std::vector<HostEntry>> ParseHostList(const std::string& list) {
  std::vector<HostEntry> hosts;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    HostEntry e;
    size_t colon = item.rfind(':');
    // An IPv6 address has colons of its own; only a trailing :N counts as slots.
    int n = 0;
    if (colon != std::string::npos && ParseCount(item.substr(colon + 1), &n) && item.find(':') == colon) {
      e.name = item.substr(0, colon);
      if (n < 1) {
        return InvalidArgument("--host '" + item + "': slots must be at least 1");
      }
      e.slots = n;
    } else {
      e.name = item;
    }
    if (!ValidHostName(e.name)) {
      return InvalidArgument("--host '" + list + "': '" + item +
                             "' is not host or host:slots (e.g. -H node1:4,node2:4)");
    }
    AddOrMerge(hosts, e);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return hosts;
}

bool IsLocalHost(const std::string& name) {
  if (name == "localhost" || name == "127.0.0.1" || name == "::1" || name == "[::1]") return true;
  char buf[HOST_NAME_MAX + 1] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return false;
  std::string me(buf);
  if (name == me) return true;
  // "node1" and "node1.cluster" name the same machine, but "node1.a" and "node1.b" do not.
  bool name_short = name.find('.') == std::string::npos;
  bool me_short = me.find('.') == std::string::npos;
  return (name_short || me_short) && name.substr(0, name.find('.')) == me.substr(0, me.find('.'));
}

}  // namespace ogai::launch
