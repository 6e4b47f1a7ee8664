// The layer rule, as code: reads cmake/layers.txt and every `#include "..."` of the project's
// own sources, and lists each include that points at a folder on the same or a higher level.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::arch {

// folder -> level, from a layers file ("LEVEL: folder folder ...", '#' comments).
using LayerTable = std::map<std::string, int>;
Result<LayerTable> ParseLayers(const std::string& text, const std::string& name);

struct Violation {
  std::string file;  // relative to the root, e.g. "comm/ucx/ring.cc"
  int line = 0;
  std::string message;  // "comm (level 2) includes train/trainer.h (level 4)"
  std::string ToString() const { return file + ":" + std::to_string(line) + ": " + message; }
};

// Scans every C/C++/CUDA source under `root` whose first path component is a folder of
// `table`, plus any other top-level folder that holds sources (reported as missing from the
// table). Includes that resolve next to the including file are same-folder includes.
Result<std::vector<Violation>> CheckLayers(const std::string& root, const LayerTable& table);

}  // namespace ogai::arch
