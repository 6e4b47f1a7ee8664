// Export of a checkpoint to one consolidated file that other tools load.
//
// safetensors (https://huggingface.co/docs/safetensors): 8-byte little-endian header
// length N, then N bytes of JSON {"__metadata__": {...}, name: {"dtype": "F32", "shape":
// [...], "data_offsets": [begin, end]}, ...} padded with spaces to a multiple of 8, then the
// tensors' raw little-endian bytes (offsets are relative to the end of the header). Every
// tensor is assembled whole from the checkpoint's pieces (any layout), checksums checked.
#pragma once

#include <string>

#include "ckpt/reader.h"
#include "core/status.h"

namespace ogai::ckpt {

struct ExportOptions {
  bool include_optimizer = false;  // also the "adamw.m.*" / "adamw.v.*" tensors
};

// Writes OUT atomically (a unique OUT.tmp.XXXXXX from mkstemp, fsync, rename). Returns the number of tensors written.
Result<int> ExportSafetensors(const Checkpoint& ck, const std::string& out, const ExportOptions& opts = {});

// True for the optimizer-state tensors of a checkpoint ("adamw.m.NAME", "adamw.v.NAME").
bool IsOptimizerTensor(const std::string& name);

}  // namespace ogai::ckpt
