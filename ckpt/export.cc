#include "ckpt/export.h"

#include "ckpt/safetensors.h"

namespace ogai::ckpt {

bool IsOptimizerTensor(const std::string& name) { return name.rfind("adamw.", 0) == 0; }

Result<int> ExportSafetensors(const Checkpoint& ck, const std::string& out, const ExportOptions& opts) {
  const pb::Manifest& m = ck.manifest();
  std::vector<SafetensorsSpec> specs;
  for (const pb::Tensor& t : m.tensors()) {
    if (!opts.include_optimizer && IsOptimizerTensor(t.name())) continue;
    if (t.dtype() != pb::F32) return NotSupported("tensor '" + t.name() + "' has a dtype export does not handle");
    specs.push_back({t.name(), std::vector<int64_t>(t.shape().begin(), t.shape().end())});
  }
  const std::map<std::string, std::string> meta = {
      {"format", "pt"}, {"ogai_step", std::to_string(m.step())}, {"ogai_checkpoint", ck.path()}};
  // Every tensor assembled whole from the pieces (any layout), checksums checked.
  OGAI_RETURN_IF_ERROR(WriteSafetensors(out, meta, specs, [&](size_t i, float* dst) {
    ReadSlice s{specs[i].name, specs[i].shape, Region::Whole(specs[i].shape), dst};
    return ck.Read({s});
  }));
  return static_cast<int>(specs.size());
}

}  // namespace ogai::ckpt
