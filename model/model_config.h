// The `model:` section of train.yaml: the shape of the GPT (train/config.cc declares its keys,
// defaults and ranges; docs/config.md lists them).
#pragma once

#include <string>

namespace ogai {

struct ModelConfig {
  int layers = 2;
  int heads = 2;
  int d_model = 64;
  int vocab = 256;
  int seq_len = 64;
  double init_std = 0.02;
  std::string device = "cpu";  // cpu | cuda (docs/gpu.md: cuda is compiled, not yet verified)
};

}  // namespace ogai
