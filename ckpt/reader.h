// Reading checkpoints: open, read any slicing of any tensor (resharding), verify.
//
//   auto ck = Checkpoint::Open("ckpt/step_00000100");   // or "ckpt": what ckpt/latest names
//   ck->Read({{"h.0.attn.q.w", {768, 768}, Region::Box({0, 0}, {384, 768}), dst}, ...});
//
// Read() takes the slices THIS rank needs now (from its ParamSpecs and its optimizer range,
// whatever layout it runs at) and fills them from the saved pieces that overlap them,
// whatever layout saved them: it intersects regions (ckpt/region.h), reads only the chunks
// that hold needed elements, and checks each chunk's CRC-32C before using it. Errors name
// the file, the tensor and the byte offset: a corrupt chunk, a truncated file, a tensor the
// checkpoint lacks or holds with another shape, an element no piece covers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ckpt/region.h"
#include "core/status.h"
#include "proto/ckpt.pb.h"

namespace ogai::ckpt {

// A whole shard file held in memory (a peer copy, ckpt/peer_copy.h): `size` bytes at `data`,
// kept valid by `owner` (a string, a mapping).
struct ShardView {
  const char* data = nullptr;
  size_t size = 0;
  std::shared_ptr<const void> owner;
  static ShardView Own(std::string bytes);
};
// File name as the manifest lists it ("rank_00003.shard") -> its bytes.
using ShardBytes = std::map<std::string, ShardView>;

// Part of one fp32 tensor to fill: `data` receives region.numel() elements in region order.
struct ReadSlice {
  std::string name;
  std::vector<int64_t> global_shape;  // what the caller's model expects (checked)
  Region region;
  float* data = nullptr;
};

// One problem Verify() found.
struct Fault {
  std::string file;     // path of the file
  std::string tensor;   // "" when not about one tensor
  uint64_t offset = 0;  // byte offset in the file
  std::string what;
  std::string ToString() const;
};

class Checkpoint {
 public:
  // `path`: a step directory (holding manifest.pb), or a checkpoint root whose `latest`
  // names one. The manifest is read and checked; shard files are opened when read.
  static Result<std::unique_ptr<Checkpoint>> Open(const std::string& path);

  const pb::Manifest& manifest() const { return m_; }
  const std::string& path() const { return dir_; }  // the step directory
  int64_t step() const { return m_.step(); }
  const pb::Tensor* FindTensor(const std::string& name) const;
  int64_t TotalBytes() const;  // of all shard files

  // Fills `slices`. Files found in `in_memory` (checked like files: size, header, every
  // chunk's CRC-32C) are read from there, the others from disk.
  Status Read(const std::vector<ReadSlice>& slices, const ShardBytes* in_memory = nullptr) const;
  // The indexes (into manifest().files()) of the files that hold elements of `slices`.
  std::vector<int> FilesFor(const std::vector<ReadSlice>& slices) const;

  // Checks every file's header and size, every chunk's CRC-32C, and that every tensor's
  // pieces cover it exactly. Returns every fault found (empty: the checkpoint is good).
  std::vector<Fault> Verify(int64_t* bytes_checked = nullptr) const;

 private:
  Checkpoint() = default;
  std::string dir_;
  pb::Manifest m_;
};

// The committed checkpoints under DIR that `resume: auto` tries, best first: the one
// `latest` names, then every older committed one, newest first (if `latest` is missing or
// damaged: every committed one, newest first). Empty when there is none.
Result<std::vector<std::string>> ResumeCandidates(const std::string& dir);

// The piece's region (box and flat range) as recorded in the manifest.
Region PieceRegion(const pb::Piece& p);

}  // namespace ogai::ckpt
