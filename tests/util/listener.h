// LoopbackListener: a TCP socket listening on 127.0.0.1 at a port the kernel chose, which
// nobody accepts on unless the test does: a peer that takes connections and never answers (a
// frozen agent: the kernel still completes the handshake), or a port that is in use. Closed
// by the destructor or Close().
//
//   LoopbackListener l;
//   ASSERT_TRUE(l.ok());
//   Connect("127.0.0.1", l.port());   // connects; no answer ever comes
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ogai::testing {

class LoopbackListener {
 public:
  explicit LoopbackListener(int backlog = 16) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, backlog) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port_ = ntohs(a.sin_port);
    }
  }
  ~LoopbackListener() { Close(); }
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;

  bool ok() const { return port_ > 0; }  // bound and listening
  int port() const { return port_; }
  int fd() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace ogai::testing
