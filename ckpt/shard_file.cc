// The shard file: its plan (index and chunk order) and its checksummed, durable write.
#include "ckpt/shard_file.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "core/clock.h"
#include "core/crc32c.h"
#include "core/file_io.h"

namespace ogai::ckpt {
namespace {

// writev until every byte is out (short writes and EINTR handled).
Status WriteAllV(int fd, struct iovec* iov, size_t n, size_t bytes, const std::string& path) {
  while (bytes > 0) {
    ssize_t w = ::writev(fd, iov, static_cast<int>(n));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("writing " + path, errno);
    }
    bytes -= static_cast<size_t>(w);
    size_t left = static_cast<size_t>(w);
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --n;
    }
    if (n > 0) {
      iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return Status::Ok();
}

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
                      double* write_s) {
  const std::string path = JoinPath(dir, ShardFileName(header.rank));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create checkpoint shard " + path, errno);
  Status st;
  double t_first_write = 0;
  bool header_done = false;
  auto ensure_header = [&]() -> Status {
    if (header_done) return Status::Ok();
    header_done = true;
    t_first_write = Now();
    uint8_t bytes[kShardHeaderBytes];
    EncodeShardHeader(header, bytes);
    return WriteAllFd(fd, bytes, sizeof(bytes), path);
  };
  // Chunks go out in batches (one writev of up to 64 chunks or 8 MiB), so that many small
  // tensors cost few system calls; each chunk gets its CRC-32C on the way.
  constexpr size_t kMaxIov = 64;
  constexpr int64_t kMaxBatchBytes = 8 << 20;
  while (st.ok() && source.available() > 0) {
    size_t n = 0;
    int64_t batch_bytes = 0;
    while (n < source.available() && n < kMaxIov && (n == 0 || batch_bytes + source.ref(n).len <= kMaxBatchBytes)) {
      batch_bytes += source.ref(n++).len;
    }
    st = ensure_header();
    if (st.ok()) {
      struct iovec iov[kMaxIov];
      size_t bytes = 0;
      for (size_t i = 0; i < n; ++i) {
        const ChunkRef& c = source.ref(i);
        const uint8_t* d = source.data(i);
        layout.piece_of[c.slice]->add_chunk_crc32c(Crc32c(d, static_cast<size_t>(c.len)));
        iov[i].iov_base = const_cast<uint8_t*>(d);
        iov[i].iov_len = static_cast<size_t>(c.len);
        bytes += static_cast<size_t>(c.len);
      }
      st = WriteAllV(fd, iov, n, bytes, path);
    }
    source.Consumed(n);
  }
  if (st.ok()) st = ensure_header();
  if (st.ok() && ::fdatasync(fd) != 0) st = ErrnoError("fdatasync " + path, errno);
  *write_s = Now() - t_first_write;  // data written and durable, as a raw write
  if (::close(fd) != 0 && st.ok()) st = ErrnoError("close " + path, errno);
  if (st.ok()) st = FsyncPath(dir);  // the file's directory entry
  return st;
}

}  // namespace ogai::ckpt
