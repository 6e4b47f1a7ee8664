// libFuzzer harness: ogai-data's data.yaml parser with overrides (dataproc/prepare_config.h).
// Input: YAML text, then optional override lines after a NUL byte.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dataproc/prepare_config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [text, overrides] = ogai::fuzz::SplitConfigInput(data, size);
  auto cfg = ogai::data::ParsePrepareConfig(text, "fuzz-data.yaml", overrides);
  if (cfg.ok()) {
    // What parses must print and parse again to the same thing.
    const std::string yaml = ogai::data::PrepareConfigToYaml(*cfg);
    auto again = ogai::data::ParsePrepareConfig(yaml, "fuzz-data-again.yaml", {});
    if (!again.ok() || ogai::data::PrepareConfigToYaml(*again) != yaml) __builtin_trap();
  }
  return 0;
}
