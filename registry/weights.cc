#include "registry/weights.h"

#include <cstring>

#include "dataproc/byte_tokenizer.h"

namespace ogai::registry {

Result<std::unique_ptr<model::GPT>> LoadModel(Registry& reg, const VersionInfo& v) {
  OGAI_ASSIGN_OR_RETURN(std::unique_ptr<model::GPT> m, model::GPT::Create(v.config, {}));
  for (const model::ParamSpec& p : m->params()) {
    const TensorRecord* rec = nullptr;
    for (const auto& t : v.tensors)
      if (t.name == p.name) rec = &t;
    if (rec == nullptr) return NotFound(v.ref() + " has no tensor '" + p.name + "'");
    if (rec->shape != p.global_shape) {
      return InvalidArgument(v.ref() + ": tensor '" + p.name + "' has another shape than the model config implies");
    }
    OGAI_ASSIGN_OR_RETURN(std::vector<float> data, reg.ReadTensor(*rec));
    std::memcpy(m->param_data() + p.offset, data.data(), data.size() * sizeof(float));
  }
  return m;
}

Result<std::vector<int32_t>> Encode(const VersionInfo& v, const std::string& text) {
  if (v.tokenizer.kind != "byte") {
    return NotSupported(
        v.ref() + " uses the '" + v.tokenizer.kind +
        "' tokenizer, which this build cannot run yet (only 'byte'); its files are kept in the registry");
  }
  std::vector<int32_t> t = data::ByteEncode(text);
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] >= v.config.vocab) {
      return InvalidArgument("the prompt's byte " + std::to_string(i) + " (value " + std::to_string(t[i]) +
                             ") is outside " + v.ref() + "'s vocabulary of " + std::to_string(v.config.vocab) +
                             " tokens; use text the model was trained on");
    }
  }
  return t;
}

std::string Decode(const VersionInfo& v, const std::vector<int32_t>& tokens) { return data::ByteDecode(tokens); }

}  // namespace ogai::registry
