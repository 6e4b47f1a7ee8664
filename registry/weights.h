// A registered version as a runnable model: the dense GPT (tp = 1, one stage) filled from
// its blobs (each checked against its SHA-256), and its tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/gpt.h"
#include "registry/registry.h"

namespace ogai::registry {

Result<std::unique_ptr<model::GPT>> LoadModel(Registry& reg, const VersionInfo& v);

// Text <-> tokens with the version's tokenizer. Encoding refuses what the model cannot take
// (a token id >= model.vocab); a tokenizer kind this build does not know is NotSupported.
Result<std::vector<int32_t>> Encode(const VersionInfo& v, const std::string& text);
std::string Decode(const VersionInfo& v, const std::vector<int32_t>& tokens);
// The version's end-of-text token (GPT-2's <|endoftext|>, 256 for bytes when the vocabulary
// has it), or -1 when it has none.
int EndOfText(const VersionInfo& v);

}  // namespace ogai::registry
