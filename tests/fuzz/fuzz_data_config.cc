// libFuzzer harness: ogai-data's data.yaml parser with overrides (dataproc/prepare_config.h).
// Input: YAML text, then optional override lines after a NUL byte.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dataproc/prepare_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::string text = in;
  std::vector<std::string> overrides;
  if (size_t nul = in.find('\0'); nul != std::string::npos) {
    text = in.substr(0, nul);
    const std::string rest = in.substr(nul + 1);
    size_t b = 0;
    while (b <= rest.size() && overrides.size() < 8) {
      size_t e = rest.find('\n', b);
      if (e == std::string::npos) e = rest.size();
      overrides.push_back(rest.substr(b, e - b));
      b = e + 1;
    }
  }
  auto cfg = ogai::data::ParsePrepareConfig(text, "fuzz-data.yaml", overrides);
  if (cfg.ok()) {
    // What parses must print and parse again to the same thing.
    const std::string yaml = ogai::data::PrepareConfigToYaml(*cfg);
    auto again = ogai::data::ParsePrepareConfig(yaml, "fuzz-data-again.yaml", {});
    if (!again.ok() || ogai::data::PrepareConfigToYaml(*again) != yaml) __builtin_trap();
  }
  return 0;
}
