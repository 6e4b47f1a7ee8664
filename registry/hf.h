// Hugging Face GPT-2 export and import (docs/registry.md, "Export format").
//
// ogai's tensors map onto the names and layouts of the Hugging Face GPT-2 implementation
// (GPT2LMHeadModel, model_type "gpt2"): wte/wpe -> wte.weight/wpe.weight; per block ln1/ln2
// -> h.N.ln_1/ln_2; q, k, v -> one attn.c_attn (Conv1D: weight [C, 3C], the transpose of
// the stacked [3C, C] Linear weight); attn.proj -> attn.c_proj (weight [C, C] transposed);
// mlp.fc -> mlp.c_fc ([C, 4C]); mlp.proj -> mlp.c_proj ([4C, C]); lnf -> ln_f. The head
// is tied to wte (tie_word_embeddings), so lm_head.weight is not written.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "registry/registry.h"

namespace ogai::registry {

// Writes DIR/model.safetensors (or, above shard_bytes, model-0000K-of-0000N.safetensors and
// model.safetensors.index.json), config.json, the tokenizer files and README.md (a model
// card with YAML front matter). Returns the number of safetensors files.
Result<int> ExportHf(Registry& reg, const VersionInfo& v, const std::string& dir, int64_t shard_bytes);

// Reads such a folder (from ogai or elsewhere) into a new version of `name`. Refuses, naming
// the tensor, a missing tensor, a wrong shape, a malformed safetensors header.
Result<int> ImportHf(Registry& reg, const std::string& dir, const std::string& name,
                     const std::vector<std::string>& aliases);

}  // namespace ogai::registry
