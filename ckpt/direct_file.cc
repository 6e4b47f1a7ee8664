#include "ckpt/direct_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace ogai::ckpt {
namespace {

bool Aligned(uint64_t v) { return v % DirectFile::kAlign == 0; }

}  // namespace

DirectFile::~DirectFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status DirectFile::Open(const std::string& path, bool try_direct) {
  path_ = path;
  const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  fd_ = try_direct ? ::open(path.c_str(), flags | O_DIRECT, 0644) : -1;
  direct_ = fd_ >= 0;
  if (fd_ < 0) fd_ = ::open(path.c_str(), flags, 0644);  // EINVAL: the file system has no O_DIRECT
  if (fd_ < 0) return ErrnoError("cannot create checkpoint shard " + path, errno);
  return Status::Ok();
}

void DirectFile::SwitchToBuffered() {
  if (!direct_) return;
  direct_ = false;
  const int fl = ::fcntl(fd_, F_GETFL);
  if (fl >= 0) (void)::fcntl(fd_, F_SETFL, fl & ~O_DIRECT);
}

Status DirectFile::Append(const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  if (direct_ && !(Aligned(reinterpret_cast<uintptr_t>(p)) && Aligned(n) && Aligned(pos_))) SwitchToBuffered();
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EINVAL && direct_) {  // opened with O_DIRECT, but this file system refuses it
      SwitchToBuffered();
      continue;
    }
    if (w < 0) return ErrnoError("writing " + path_, errno);
    if (w == 0) return IoError("writing " + path_ + ": the write made no progress (disk full?)");
    if (direct_) direct_bytes_ += static_cast<uint64_t>(w);
    p += w;
    n -= static_cast<size_t>(w);
    pos_ += static_cast<uint64_t>(w);
    if (n > 0) SwitchToBuffered();  // a short direct write leaves an unaligned rest
  }
  return Status::Ok();
}

Status DirectFile::Sync() {
  if (::fdatasync(fd_) != 0) return ErrnoError("fdatasync " + path_, errno);
  return Status::Ok();
}

Status DirectFile::Close() {
  const int fd = fd_;
  fd_ = -1;
  if (fd >= 0 && ::close(fd) != 0) return ErrnoError("close " + path_, errno);
  return Status::Ok();
}

DirectBuffer::DirectBuffer(size_t cap) : buf_(cap + DirectFile::kAlign, MemCategory::kStaging), cap_(cap) {
  const auto a = reinterpret_cast<uintptr_t>(buf_.data());
  base_ = static_cast<uint8_t*>(buf_.data()) + (DirectFile::kAlign - a % DirectFile::kAlign) % DirectFile::kAlign;
}

Status DirectBuffer::Add(const void* data, size_t n, DirectFile& f) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const size_t k = std::min(n, cap_ - fill_);
    std::memcpy(base_ + fill_, p, k);
    fill_ += k;
    p += k;
    n -= k;
    if (fill_ == cap_) {
      OGAI_RETURN_IF_ERROR(f.Append(base_, fill_));
      fill_ = 0;
    }
  }
  return Status::Ok();
}

Status DirectBuffer::Flush(DirectFile& f) {
  const size_t whole = fill_ / DirectFile::kAlign * DirectFile::kAlign;
  OGAI_RETURN_IF_ERROR(f.Append(base_, whole));
  OGAI_RETURN_IF_ERROR(f.Append(base_ + whole, fill_ - whole));
  fill_ = 0;
  return Status::Ok();
}

}  // namespace ogai::ckpt
