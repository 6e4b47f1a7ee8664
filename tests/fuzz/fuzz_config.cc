// libFuzzer harness: the train.yaml parser with overrides (train/config.h on
// core/config_schema.h). Input: YAML text, then optional override lines after a NUL byte.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config_schema.h"
#include "train/config.h"
#include "train/memory_estimate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  std::string text = in;
  std::vector<std::string> overrides;
  if (size_t nul = in.find('\0'); nul != std::string::npos) {
    text = in.substr(0, nul);
    std::string rest = in.substr(nul + 1);
    size_t b = 0;
    while (b <= rest.size() && overrides.size() < 8) {
      size_t e = rest.find('\n', b);
      if (e == std::string::npos) e = rest.size();
      overrides.push_back(rest.substr(b, e - b));
      b = e + 1;
    }
  }
  if (!ogai::config::CheckDocumentText(text, "fuzz.yaml").ok()) return 0;
  auto cfg = ogai::ParseConfig(text, "fuzz.yaml", overrides);
  if (cfg.ok()) {
    (void)ogai::ConfigToYaml(*cfg);
    (void)ogai::CheckMemoryFits(*cfg, 1, int64_t{1} << 34);
  }
  return 0;
}
