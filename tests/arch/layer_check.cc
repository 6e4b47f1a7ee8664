#include "tests/arch/layer_check.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace ogai::arch {
namespace {

bool IsSource(const fs::path& p) {
  static const std::set<std::string> kExt = {".h", ".hh", ".hpp", ".c", ".cc", ".cpp", ".cu", ".cuh"};
  return kExt.count(p.extension().string()) > 0;
}

// Folders that never hold project sources to check (build trees, VCS data, caches).
bool Skipped(const std::string& top) {
  return top.empty() || top[0] == '.' || top.rfind("build", 0) == 0 || top == "out" || top == "node_modules";
}

std::string FirstComponent(const std::string& rel) {
  const auto slash = rel.find('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}

}  // namespace

Result<LayerTable> ParseLayers(const std::string& text, const std::string& name) {
  LayerTable t;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const auto colon = line.find(':');
    int level = -1;
    try {
      level = std::stoi(line.substr(0, colon));
    } catch (...) {
    }
    if (colon == std::string::npos || level < 0) {
      return InvalidArgument(name + ":" + std::to_string(lineno) + ": expected 'LEVEL: folder ...', got '" + line +
                             "'");
    }
    std::istringstream folders(line.substr(colon + 1));
    std::string f;
    while (folders >> f) {
      if (!t.emplace(f, level).second) {
        return InvalidArgument(name + ":" + std::to_string(lineno) + ": folder '" + f + "' is listed twice");
      }
    }
  }
  if (t.empty()) return InvalidArgument(name + ": no layers");
  return t;
}

Result<std::vector<Violation>> CheckLayers(const std::string& root, const LayerTable& table) {
  std::vector<Violation> out;
  static const std::regex kInclude(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::error_code ec;
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string rel = fs::relative(it->path(), root).string();
    if (it->is_directory() && it.depth() == 0 && Skipped(rel)) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && IsSource(it->path()) && !FirstComponent(rel).empty()) files.push_back(rel);
  }
  if (ec) return IoError("walking " + root + ": " + ec.message());
  std::sort(files.begin(), files.end());

  std::set<std::string> reported_unknown;
  for (const std::string& rel : files) {
    const std::string from = FirstComponent(rel);
    const auto from_it = table.find(from);
    if (from_it == table.end()) {
      if (reported_unknown.insert(from).second) {
        out.push_back({rel, 1,
                       "folder '" + from + "' holds sources but is not in the layer table; add it to " +
                           "cmake/layers.txt at its level"});
      }
      continue;
    }
    std::ifstream in(fs::path(root) / rel);
    if (!in) return IoError("cannot read " + rel);
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      std::smatch m;
      if (!std::regex_search(line, m, kInclude)) continue;
      const std::string inc = m[1];
      // An include that names a file beside the including one stays in its folder.
      if (fs::exists(fs::path(root) / fs::path(rel).parent_path() / inc)) {
        if (inc.find("..") == std::string::npos) continue;
      }
      const std::string to = FirstComponent(inc);
      const auto to_it = table.find(to);
      if (to_it == table.end()) {
        out.push_back({rel, lineno, "includes \"" + inc + "\", which is in no folder of the layer table"});
        continue;
      }
      if (to == from) continue;
      if (to_it->second >= from_it->second) {
        out.push_back({rel, lineno,
                       from + " (level " + std::to_string(from_it->second) + ") includes " + inc + " (level " +
                           std::to_string(to_it->second) + "): a folder may include only folders below it"});
      }
    }
  }
  return out;
}

}  // namespace ogai::arch
