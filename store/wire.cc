#include "store/wire.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace ogai::store::wire_internal {

void EncodeHeader(uint32_t payload_bytes, char out[kFrameHeaderBytes]) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((kFrameMagic >> (8 * i)) & 0xff);
  for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<char>((payload_bytes >> (8 * i)) & 0xff);
}

static uint32_t Le32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

Status DecodeHeader(const char in[kFrameHeaderBytes], uint32_t max_bytes, uint32_t* payload_bytes) {
  if (Le32(in) != kFrameMagic) {
    return Corruption("not an ogai store frame (bad magic): is something else talking to this port?");
  }
  uint32_t n = Le32(in + 4);
  if (n > max_bytes) {
    return Corruption("store frame of " + std::to_string(n) + " bytes exceeds the limit of " +
                      std::to_string(max_bytes) + " bytes");
  }
  *payload_bytes = n;
  return Status::Ok();
}

static int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return 0;
  if (left.count() > 1000000) return 1000000;
  return static_cast<int>(left.count());
}

static Status WaitFd(int fd, short events, Clock::time_point deadline, const char* what) {
  for (;;) {
    int ms = MillisLeft(deadline);
    if (ms == 0) return Timeout(std::string("store socket ") + what + " timed out");
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, ms);
    if (r > 0) return Status::Ok();
    if (r < 0 && errno != EINTR) return ErrnoError("poll on store socket", errno);
  }
}

Status SendAll(int fd, const std::string& bytes, Clock::time_point deadline) {
  return SendAll(fd, bytes.data(), bytes.size(), deadline);
}

Status SendAll(int fd, const char* data, size_t size, Clock::time_point deadline) {
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::send(fd, data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      OGAI_RETURN_IF_ERROR(WaitFd(fd, POLLOUT, deadline, "send"));
      continue;
    }
    return Unavailable(std::string("store connection lost while sending: ") +
                       (n < 0 ? std::strerror(errno) : "closed"));
  }
  return Status::Ok();
}

namespace {
// A long receive asks poll to wake it only when this much (or the rest, if less) is queued
// (SO_RCVLOWAT), not for every 64 KiB segment: on loopback that took a 100 MB peer copy from
// 150-185 to 90-115 ms of CPU (`ogai-bench peer`, docs/recovery.md). The kernel caps the mark
// at half the receive buffer, so a receive cannot wait for more than fits; a closed or failed
// connection still wakes poll.
constexpr size_t kRecvLowWater = 256u << 10;

void SetRecvLowWater(int fd, int bytes) { (void)::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof(bytes)); }
}  // namespace

Status RecvAll(int fd, char* buf, size_t n, Clock::time_point deadline) {
  size_t off = 0;
  int low_water = 1;  // the socket's default
  struct Reset {      // back to 1 however this ends: the next read on the socket may be short
    int fd;
    const int& low_water;
    ~Reset() {
      if (low_water != 1) SetRecvLowWater(fd, 1);
    }
  } reset{fd, low_water};
  while (off < n) {
    ssize_t r = ::recv(fd, buf + off, n - off, MSG_DONTWAIT);
    if (r > 0) {
      off += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return Unavailable("the other side closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      const int want = static_cast<int>(std::min(n - off, kRecvLowWater));
      if (want != low_water && (want > (64 << 10) || low_water != 1)) {
        low_water = want;
        SetRecvLowWater(fd, want);
      }
      OGAI_RETURN_IF_ERROR(WaitFd(fd, POLLIN, deadline, "receive"));
      continue;
    }
    return Unavailable(std::string("store connection lost while receiving: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Result<int> DialTcp(const std::string& host, int port, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port_s = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), port_s.c_str(), &hints, &res);
  if (rc != 0) {
    return InvalidArgument("cannot resolve store host '" + host + "': " + gai_strerror(rc));
  }
  Status last = Unavailable("no address for " + host);
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last = ErrnoError("socket", errno);
      continue;
    }
    int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r < 0 && errno == EINPROGRESS) {
      Status w = WaitFd(fd, POLLOUT, deadline, "connect");
      if (!w.ok()) {
        ::close(fd);
        last = w;
        continue;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      r = err == 0 ? 0 : -1;
      errno = err;
    }
    if (r == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      ::freeaddrinfo(res);
      return fd;
    }
    last = Unavailable(std::string("connect: ") + std::strerror(errno));
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return last;
}

}  // namespace ogai::store::wire_internal
