// The `data:` section of train.yaml: where the training tokens come from (train/config.cc
// declares its keys; docs/config.md lists them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ogai {

struct DataConfig {
  std::string source = "demo";     // demo | shards | dataset
  std::vector<std::string> paths;  // token shard files (source: shards)
  std::string dataset;             // a folder `ogai-data prepare` wrote (source: dataset)
  int64_t demo_tokens = 1 << 20;   // size of the generated demo corpus
  uint64_t demo_seed = 1234;
};

}  // namespace ogai
