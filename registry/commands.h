// The ogai-model commands, behind the argument parsing of registry/model_main.cc.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "registry/registry.h"

namespace ogai::registry {

struct Flags {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> values;  // --key VALUE (repeatable)
  std::vector<std::string> switches;               // --yes, --config, --recompute
  std::string Get(const std::string& k, const std::string& def = "") const;
  bool Has(const std::string& sw) const;
};
Status ParseFlags(const std::vector<std::string>& args, Flags* f);

Status RunCommand(Registry& reg, const std::string& cmd, const Flags& f);

// generate: prints the prompt, then each new piece of text as it is decoded.
struct GenerateOptions {
  std::string prompt;
  int max_tokens = 64;
  double temperature = 1.0;
  int top_k = 0;
  double top_p = 1.0;
  uint64_t seed = 0;
  bool recompute = false;   // full recomputation per token instead of the KV cache
  bool ignore_eot = false;  // go on past the end-of-text token (it is printed) instead of stopping
};
Status Generate(Registry& reg, const std::string& ref, const GenerateOptions& o);

}  // namespace ogai::registry
