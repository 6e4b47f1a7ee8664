// The safetensors format (https://huggingface.co/docs/safetensors), written and read by the
// letter of its description:
//
//   8 bytes   N, unsigned little-endian: the header's length
//   N bytes   JSON object {"__metadata__": {str: str}, NAME: {"dtype": "F32", "shape": [..],
//             "data_offsets": [BEGIN, END]}, ...}, padded with spaces to a multiple of 8
//   the rest  the byte buffer; BEGIN/END are relative to its start; the tensors fill it
//             exactly, in order, with no holes and no overlaps; little-endian, row-major
//
// The reader checks all of that and names the tensor at fault: a header length past the end
// of the file, a tensor whose offsets overlap another or leave a hole, offsets that do not
// match dtype x shape, data past the end. Only F32 tensors are converted to float (others
// are refused by name). ckpt/export.cc and the registry's Hugging Face export use the writer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::ckpt {

struct SafetensorsEntry {
  std::string name;
  std::string dtype = "F32";
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // relative to the byte buffer
  int64_t numel() const;
};

struct SafetensorsFile {
  std::string path;
  std::map<std::string, std::string> metadata;
  std::vector<SafetensorsEntry> tensors;  // in data order
  uint64_t data_start = 0;                // 8 + N
  const SafetensorsEntry* Find(const std::string& name) const;
};

// Reads and validates the header (and the buffer's extent against the file size).
Result<SafetensorsFile> ReadSafetensorsHeader(const std::string& path);
// One F32 tensor's values.
Result<std::vector<float>> ReadSafetensorsF32(const SafetensorsFile& f, const SafetensorsEntry& t);

// Writes PATH atomically (PATH.tmp, fsync, rename). `fill(i, dst)` writes tensor i's
// numel() floats into dst (called once per tensor, in order).
struct SafetensorsSpec {
  std::string name;
  std::vector<int64_t> shape;
};
Status WriteSafetensors(const std::string& path, const std::map<std::string, std::string>& metadata,
                        const std::vector<SafetensorsSpec>& tensors, const std::function<Status(size_t, float*)>& fill);

}  // namespace ogai::ckpt
