// The shard file: its plan (index and chunk order) and its checksummed, durable write.
#include "ckpt/shard_file.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <thread>

#include "ckpt/direct_file.h"
#include "core/clock.h"
#include "core/crc32c.h"
#include "core/file_io.h"
#include "core/memory.h"

namespace ogai::ckpt {
namespace {

constexpr uint64_t kAlign = DirectFile::kAlign;
constexpr size_t kBounceBytes = 8 << 20;  // a multiple of kAlign

}  // namespace

int64_t SliceBytes(const ConstSlice& s) { return s.region.numel() * static_cast<int64_t>(sizeof(float)); }

ChunkSource::~ChunkSource() = default;

void PlanShardFile(int rank, const std::vector<ConstSlice>& slices, int64_t opt_begin, int64_t opt_end, int64_t chunk,
                   pb::ShardIndex* index, ShardLayout* layout) {
  // Every slice's bytes in chunks, one after another after the header.
  index->set_rank(rank);
  index->mutable_file()->set_name(ShardFileName(rank));
  index->mutable_file()->set_rank(rank);
  index->mutable_optimizer_range()->set_rank(rank);
  index->mutable_optimizer_range()->set_begin(opt_begin);
  index->mutable_optimizer_range()->set_end(opt_end);
  std::map<std::string, int> tensor_of;
  layout->piece_of.assign(slices.size(), nullptr);
  uint64_t off = kShardHeaderBytes;
  for (size_t i = 0; i < slices.size(); ++i) {
    const ConstSlice& s = slices[i];
    auto it = tensor_of.find(s.name);
    pb::Tensor* t;
    if (it == tensor_of.end()) {
      tensor_of[s.name] = index->tensors_size();
      t = index->add_tensors();
      t->set_name(s.name);
      t->set_dtype(pb::F32);
      for (int64_t d : s.global_shape) t->add_shape(d);
    } else {
      t = index->mutable_tensors(it->second);
    }
    pb::Piece* p = t->add_pieces();
    p->set_file(0);
    p->set_byte_offset(off);
    p->set_byte_length(static_cast<uint64_t>(SliceBytes(s)));
    for (int64_t b : s.region.begin) p->add_box_begin(b);
    for (int64_t e : s.region.extent) p->add_box_extent(e);
    p->set_flat_begin(s.region.flat_begin);
    p->set_flat_end(s.region.flat_end);
    p->set_chunk_bytes(static_cast<uint64_t>(chunk));
    layout->piece_of[i] = p;
    for (int64_t o = 0; o < SliceBytes(s); o += chunk) {
      layout->chunks.push_back({i, o, std::min<int64_t>(chunk, SliceBytes(s) - o)});
    }
    off += static_cast<uint64_t>(SliceBytes(s));
  }
  layout->file_bytes = off;
  index->mutable_file()->set_bytes(off);
}

Status WriteShardFile(const std::string& dir, const ShardHeader& header, ShardLayout& layout, ChunkSource& source,
                      bool direct_io, double* write_s, uint64_t* direct_bytes, const WritePace& pace) {
  const std::string path = JoinPath(dir, ShardFileName(header.rank));
  DirectFile file;
  OGAI_RETURN_IF_ERROR(file.Open(path, direct_io));
  // Three ways to the same bytes: from the source's file image in place (its blocks go out
  // with O_DIRECT, no copy); through an aligned bounce buffer (O_DIRECT, one copy); or, on a
  // file system without O_DIRECT, each chunk written through the page cache.
  uint8_t* image = source.file_image();
  std::unique_ptr<DirectBuffer> bounce;
  if (image == nullptr && file.direct()) bounce = std::make_unique<DirectBuffer>(kBounceBytes);
  const double t_first_write = Now();
  uint8_t head[kShardHeaderBytes];
  EncodeShardHeader(header, image != nullptr ? image : head);
  Status st;
  uint64_t image_written = 0;  // image bytes appended to the file
  if (image == nullptr) st = bounce ? bounce->Add(head, sizeof(head), file) : file.Append(head, sizeof(head));
  // Chunks go in batches of up to 64 chunks or 8 MiB; each chunk gets its CRC-32C on the way.
  constexpr size_t kMaxBatch = 64;
  constexpr int64_t kMaxBatchBytes = 8 << 20;
  while (st.ok() && source.available() > 0) {
    size_t n = 0;
    int64_t batch_bytes = 0;
    while (n < source.available() && n < kMaxBatch && (n == 0 || batch_bytes + source.ref(n).len <= kMaxBatchBytes)) {
      batch_bytes += source.ref(n++).len;
    }
    uint64_t batch_end = 0;
    for (size_t i = 0; i < n && st.ok(); ++i) {
      const ChunkRef& c = source.ref(i);
      const uint8_t* d = source.data(i);
      pb::Piece* piece = layout.piece_of[c.slice];
      uint32_t crc;
      if (!source.crc32c(i, &crc)) crc = Crc32c(d, static_cast<size_t>(c.len));
      piece->add_chunk_crc32c(crc);
      batch_end = piece->byte_offset() + static_cast<uint64_t>(c.offset + c.len);
      if (image == nullptr) {
        st = bounce ? bounce->Add(d, static_cast<size_t>(c.len), file) : file.Append(d, static_cast<size_t>(c.len));
      }
    }
    if (st.ok() && image != nullptr) {  // the batch's whole blocks, straight from the image
      const uint64_t upto = batch_end / kAlign * kAlign;
      if (upto > image_written) st = file.Append(image + image_written, upto - image_written);
      if (st.ok()) image_written = std::max(image_written, upto);
    }
    source.Consumed(n);
    // Paced: not ahead of bytes_per_s since the first write; slept in slices of at most 50 ms,
    // so that a hurry is seen soon.
    while (pace.bytes_per_s > 0 && !(pace.hurry != nullptr && pace.hurry->load())) {
      const double ahead = static_cast<double>(file.bytes()) / pace.bytes_per_s - (Now() - t_first_write);
      if (ahead <= 0) break;
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(ahead, 0.05)));
    }
  }
  if (st.ok() && image != nullptr) st = file.Append(image + image_written, layout.file_bytes - image_written);
  if (st.ok() && bounce) st = bounce->Flush(file);
  if (st.ok() && file.bytes() != layout.file_bytes) {
    st = Internal("checkpoint shard " + path + ": wrote " + std::to_string(file.bytes()) + " bytes, planned " +
                  std::to_string(layout.file_bytes));
  }
  if (st.ok()) st = file.Sync();
  *write_s = Now() - t_first_write;  // data written and durable, as a raw write
  if (direct_bytes != nullptr) *direct_bytes = file.direct_bytes();
  Status cst = file.Close();
  if (st.ok()) st = cst;
  if (st.ok()) st = FsyncPath(dir);  // the file's directory entry
  return st;
}

}  // namespace ogai::ckpt
