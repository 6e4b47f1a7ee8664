// Authenticated store connections (internal): the steps of the handshake of store/auth.h,
// shared by every server and client that speaks it, and a blocking connection that runs it.
//
// The StoreServer (server.cc, an epoll loop) and the BlobServer (blob_server.cc, a thread
// per connection) answer Hello and Auth with the same two functions below; TcpStore and
// BlobClient open connections with the same ClientHandshake. One handshake, two servers.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "proto/store.pb.h"
#include "store/auth.h"
#include "store/wire.h"

namespace ogai::store::wire_internal {

// What a server remembers between Hello and Auth.
struct ServerHandshake {
  std::string client_nonce, server_nonce;
};

// Server, first step: answers a Hello. Returns false when the client is refused; `*reply` is
// then the error to send before closing.
bool AnswerHello(const wire::Request& req, const std::string& token, ServerHandshake* hs, wire::Response* reply);
// Server, second step: checks the client's proof. On success sets `*mac` to the connection's
// MACs and `*reply` to the answer (to be sent sealed: the first message with a MAC). On
// refusal returns false with `*reply` the error (sent unsealed, then the connection closes).
bool CheckAuth(const wire::Request& req, const std::string& token, const ServerHandshake& hs, wire::Response* reply,
               FrameMac* mac);

// The Status a response's code stands for.
Status FromResponse(const wire::Response& r);

// Blocking framed messages on a socket, each bounded by `deadline`. `mac` may be inactive
// (before the handshake). ReadMessage refuses a frame larger than `max_bytes` before reading it.
Status WriteMessage(int fd, FrameMac* mac, const google::protobuf::MessageLite& msg, Clock::time_point deadline);
Status ReadMessage(int fd, FrameMac* mac, uint32_t max_bytes, google::protobuf::MessageLite* msg,
                   Clock::time_point deadline);

// Raw bytes (a blob's, blob_server.h) on a socket, in pieces: gives up when one piece makes
// no progress for `io_timeout` (a dead or silent peer), whatever the total size.
Status SendBulk(int fd, const char* data, uint64_t n, std::chrono::milliseconds io_timeout);
Status RecvBulk(int fd, char* data, uint64_t n, std::chrono::milliseconds io_timeout);
// The same as SendBulk for `n` bytes of the file `file_fd` from `offset`, with sendfile(2):
// the kernel hands the file's page-cache pages to the socket, no copy through user space.
Status SendFileBulk(int fd, int file_fd, uint64_t offset, uint64_t n, std::chrono::milliseconds io_timeout);

// A client's connection: a socket and its MACs. Not thread-safe; one request at a time.
class Conn {
 public:
  explicit Conn(int fd) : fd_(fd) {}
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  int fd() const { return fd_; }
  FrameMac* mac() { return &mac_; }
  // An id for a request sent without Call (WriteMessage on fd()).
  uint64_t NextId() { return ++next_id_; }
  // Sends `req` (with a fresh id) and returns the server's response to it, whatever its code.
  Result<wire::Response> Call(wire::Request& req, Clock::time_point deadline) { return Exchange(req, deadline, true); }
  // Runs the client side of the handshake (store/auth.h) with `token`. A server without the
  // token, or one that refuses this client's, gives kPermissionDenied.
  Status Handshake(const std::string& token, Clock::time_point deadline);

 private:
  Result<wire::Response> Exchange(wire::Request& req, Clock::time_point deadline, bool seal);
  int fd_;
  uint64_t next_id_ = 0;
  FrameMac mac_;
};

}  // namespace ogai::store::wire_internal
