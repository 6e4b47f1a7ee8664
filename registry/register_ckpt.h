// `ogai-model register CKPT_DIR`: turns a committed, verifying checkpoint into a registry
// version. The checkpoint (any layout) is verified chunk by chunk first; each parameter
// tensor is then assembled whole by the resharding reader, hashed and stored as a blob
// (optimizer moments are not kept: a registered model is weights plus lineage), and the
// version's rows are inserted in one transaction once every blob is on disk.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "registry/registry.h"

namespace ogai::registry {

struct RegisterOptions {
  std::string name;
  std::vector<std::string> aliases;
  std::map<std::string, std::string> tags;
};

struct RegisterResult {
  int version = 0;
  int tensors = 0;
  int blobs_written = 0;  // new blobs (0 when the weights were all registered before)
  int64_t bytes = 0;      // tensor bytes hashed
  double seconds = 0;
};

Result<RegisterResult> RegisterCheckpoint(Registry& reg, const std::string& ckpt_path, const RegisterOptions& opt);

// Stores `data` as a blob (under the shared lock the caller holds) and returns its record.
Result<TensorRecord> StoreTensor(Registry& reg, const std::string& name, const std::vector<int64_t>& shape,
                                 const float* data, bool* written);

// The lineage fields a checkpoint's config gives: data set, last metrics, parent.
void LineageFromConfig(const std::string& config_yaml, int64_t step, Lineage* l, int* heads);

}  // namespace ogai::registry
