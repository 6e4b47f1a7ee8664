// libFuzzer harness: the train.yaml parser with overrides (train/config.h on
// core/config_schema.h). Input: YAML text, then optional override lines after a NUL byte.
#include <cstddef>
#include <cstdint>

#include "core/config_schema.h"
#include "tests/fuzz/fuzz_util.h"
#include "train/config.h"
#include "train/memory_estimate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [text, overrides] = ogai::fuzz::SplitConfigInput(data, size);
  if (!ogai::config::CheckDocumentText(text, "fuzz.yaml").ok()) return 0;
  auto cfg = ogai::ParseConfig(text, "fuzz.yaml", overrides);
  if (cfg.ok()) {
    (void)ogai::ConfigToYaml(*cfg);
    (void)ogai::CheckMemoryFits(*cfg, 1, int64_t{1} << 34);
  }
  return 0;
}
