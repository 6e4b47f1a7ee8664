// The staging ring of a checkpoint save (ckpt/writer.h): a FIFO of variable-size byte ranges
// in one buffer, each a chunk of the shard file with its CRC-32C; and the copy into it that
// takes the checksum on the way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "ckpt/shard_file.h"  // ChunkRef

namespace ogai::ckpt {

// Single-threaded: the writer thread both fills and drains it.
class Ring {
 public:
  Ring(uint8_t* base, int64_t cap) : base_(base), cap_(cap) {}
  bool empty() const { return q_.empty(); }
  // Reserves n contiguous bytes; nullptr when they do not fit now.
  uint8_t* Alloc(int64_t n, const ChunkRef& ref) {
    int64_t pos;
    if (q_.empty()) {
      pos = 0;
    } else {
      const Entry& f = q_.front();
      const Entry& b = q_.back();
      const int64_t end = b.pos + b.ref.len;
      if (f.pos <= b.pos) {
        if (cap_ - end >= n)
          pos = end;
        else if (f.pos >= n)
          pos = 0;
        else
          return nullptr;
      } else {
        if (f.pos - end >= n)
          pos = end;
        else
          return nullptr;
      }
    }
    if (n > cap_) return nullptr;
    q_.push_back({pos, ref, 0});
    return base_ + pos;
  }
  void SetCrc(uint32_t crc) { q_.back().crc = crc; }  // of the entry Alloc made last
  uint32_t Crc(size_t i) const { return q_[i].crc; }
  size_t size() const { return q_.size(); }
  const uint8_t* Data(size_t i) const { return base_ + q_[i].pos; }
  const ChunkRef& Ref(size_t i) const { return q_[i].ref; }
  void Pop(size_t n) { q_.erase(q_.begin(), q_.begin() + static_cast<std::ptrdiff_t>(n)); }

 private:
  struct Entry {
    int64_t pos;
    ChunkRef ref;
    uint32_t crc;
  };
  uint8_t* base_;
  int64_t cap_;
  std::deque<Entry> q_;
};

// Copies n bytes and returns their CRC-32C, taken piece by piece just before each piece is
// copied, while it sits in the cache: the snapshot is read from memory once, not twice (the
// copy, then the checksum). The source does not change meanwhile: the training loop waits
// for the capture before it updates the state.
uint32_t CopyWithCrc32c(uint8_t* dst, const uint8_t* src, size_t n);

}  // namespace ogai::ckpt
