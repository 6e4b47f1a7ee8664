#include "core/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>

namespace ogai {

Result<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot read " + path + ": " + std::strerror(errno));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return ErrnoError("read " + path, e);
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status WriteAllFd(int fd, const void* data, size_t n, const std::string& path) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {  // a full non-blocking pipe: let the reader catch up
      struct timespec ts = {0, 1000000};
      ::nanosleep(&ts, nullptr);
      continue;
    }
    if (w < 0) return ErrnoError("writing " + path, errno);
    if (w == 0) return IoError("writing " + path + ": the write made no progress (disk full?)");
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

void WriteAll(int fd, std::string_view s) {
  // Nowhere is left to report a failed write to an output stream.
  (void)WriteAllFd(fd, s.data(), s.size(), "an output stream");
}

}  // namespace ogai
