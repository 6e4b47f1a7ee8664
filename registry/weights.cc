#include "registry/weights.h"

#include <cstring>
#include <map>

#include "dataproc/bpe.h"
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

namespace {

// GPT-2 BPE from the version's files (the Hugging Face names: vocab.json = encoder.json,
// merges.txt = vocab.bpe), read from their blobs.
Result<const data::Gpt2Bpe*> Bpe(const VersionInfo& v) {
  static std::map<std::string, std::unique_ptr<data::Gpt2Bpe>> loaded;
  auto it = loaded.find(v.ref());
  if (it != loaded.end()) return it->second.get();
  auto enc = v.tokenizer.files.find("vocab.json"), merges = v.tokenizer.files.find("merges.txt");
  if (enc == v.tokenizer.files.end() || merges == v.tokenizer.files.end() || v.blob_root.empty()) {
    return NotFound(v.ref() + " uses GPT-2 BPE but the registry holds no vocab.json and merges.txt for it");
  }
  BlobStore blobs(v.blob_root);
  OGAI_ASSIGN_OR_RETURN(auto bpe, data::Gpt2Bpe::Load(blobs.PathOf(enc->second), blobs.PathOf(merges->second)));
  return (loaded[v.ref()] = std::move(bpe)).get();
}

}  // namespace

Result<std::vector<int32_t>> Encode(const VersionInfo& v, const std::string& text) {
  std::vector<int32_t> t;
  if (v.tokenizer.kind == "gpt2-bpe") {
    OGAI_ASSIGN_OR_RETURN(const data::Gpt2Bpe* bpe, Bpe(v));
    bpe->Encode(text, &t, nullptr);
  } else if (v.tokenizer.kind == "byte") {
    t = data::ByteEncode(text);
  } else {
    return NotSupported(v.ref() + " has no tokenizer this build can run ('" + v.tokenizer.kind +
                        "'); use ogai-model logits --tokens");
  }
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] >= v.config.vocab) {
      return InvalidArgument("the prompt's token " + std::to_string(i) + " (id " + std::to_string(t[i]) +
                             ") is outside " + v.ref() + "'s vocabulary of " + std::to_string(v.config.vocab) +
                             " tokens; use text the model was trained on");
    }
  }
  return t;
}

std::string Decode(const VersionInfo& v, const std::vector<int32_t>& tokens) {
  if (v.tokenizer.kind == "gpt2-bpe") {
    auto bpe = Bpe(v);
    if (bpe.ok()) return (*bpe)->Decode(tokens);
  }
  return data::ByteDecode(tokens);
}

int EndOfText(const VersionInfo& v) {
  if (v.tokenizer.kind == "gpt2-bpe") {
    auto bpe = Bpe(v);
    return bpe.ok() && (*bpe)->eot() < v.config.vocab ? (*bpe)->eot() : -1;
  }
  return v.tokenizer.kind == "byte" && v.config.vocab > 256 ? 256 : -1;
}

}  // namespace ogai::registry
