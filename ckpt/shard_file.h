// One rank's shard file, DIR/step_NNNNNNNN/rank_RRRRR.shard (layout: format.h, docs/formats.md):
// the 64-byte header, then every slice's bytes, slice after slice, in chunks of chunk_bytes.
//
// PlanShardFile decides where every byte goes and fills the rank's ShardIndex (what the
// manifest will say about this file); WriteShardFile writes the header and the chunks,
// appending each chunk's CRC-32C to its piece in that index, then makes the file durable
// (fdatasync, and an fsync of its directory). Where the chunks' bytes come from — the
// caller's memory or a staging buffer that refills as it drains — is the ChunkSource's
// business (the writer's, ckpt/writer.cc).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ckpt/format.h"
#include "ckpt/region.h"
#include "core/status.h"
#include "proto/ckpt.pb.h"

namespace ogai::ckpt {

// Part of one fp32 tensor to write: `data` holds region.numel() elements in region order,
// and must stay unchanged until WaitCaptured() (async) or Save() (sync) returns.
struct ConstSlice {
  std::string name;
  std::vector<int64_t> global_shape;
  Region region;
  const float* data = nullptr;
};

// The slice's bytes in the file.
int64_t SliceBytes(const ConstSlice& s);

// One checksummed chunk of one slice.
struct ChunkRef {
  size_t slice;    // index into the slices the file was planned for
  int64_t offset;  // bytes into the slice's data
  int64_t len;
};

// Where every chunk of one shard file goes.
struct ShardLayout {
  std::vector<ChunkRef> chunks;      // in file order
  std::vector<pb::Piece*> piece_of;  // per slice, its piece in the index (gets the CRCs)
  uint64_t file_bytes = 0;           // header included
};

// Plans rank's file for `slices` with chunks of chunk_bytes: fills *index (file, optimizer
// range [opt_begin, opt_end), one tensor per name with one piece per slice) and *layout,
// whose piece_of points into *index.
void PlanShardFile(int rank, const std::vector<ConstSlice>& slices, int64_t opt_begin, int64_t opt_end,
                   int64_t chunk_bytes, pb::ShardIndex* index, ShardLayout* layout);

// The chunks ready to be written, in file order.
class ChunkSource {
 public:
  virtual ~ChunkSource();
  virtual size_t available() const = 0;  // 0: every chunk has been written
  virtual const ChunkRef& ref(size_t k) const = 0;
  virtual const uint8_t* data(size_t k) const = 0;
  // The chunk's CRC-32C when the source computed it already (a staged save does, while
  // copying); otherwise WriteShardFile computes it.
  virtual bool crc32c(size_t /*k*/, uint32_t* /*crc*/) const { return false; }
  // The first n available chunks are written (or failed to be): drop them, and refill.
  virtual void Consumed(size_t n) = 0;
  // The whole file as one DirectFile::kAlign-aligned buffer of layout.file_bytes, every
  // chunk's data() at its file offset and the first kShardHeaderBytes free for the header
  // (WriteShardFile puts it there); nullptr when the chunks are not laid out that way. With
  // an image, the file is written from it in place.
  virtual uint8_t* file_image() { return nullptr; }
};

// Writes DIR/<ShardFileName(header.rank)>: the header, then source's chunks in batches of up
// to 64 chunks or 8 MiB, then fdatasync, close and an fsync of dir. With direct_io the file
// is written with O_DIRECT where the file system allows it (ckpt/direct_file.h): from the
// source's file_image() in place, or else through an 8 MiB aligned bounce buffer; the bytes
// are the same either way. Sets *write_s to the time from the first byte written until
// fdatasync returned, and *direct_bytes (if not null) to the bytes that went out direct.
// With pace.bytes_per_s > 0 it sleeps between batches so as not to write faster, until
// *pace.hurry (if given) turns true.
struct WritePace {
  double bytes_per_s = 0;
  const std::atomic<bool>* hurry = nullptr;
};
Status WriteShardFile(const std::string& dir, const ShardHeader& header, ShardLayout& layout, ChunkSource& source,
                      bool direct_io, double* write_s, uint64_t* direct_bytes = nullptr, const WritePace& pace = {});

}  // namespace ogai::ckpt
