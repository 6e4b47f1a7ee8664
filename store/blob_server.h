// BlobServer: a data channel for large values (checkpoint shards kept in memory by each
// node's agent: ckpt/peer_copy.h), beside the store but not through it.
//
// The store carries every value inside a protobuf message, a MAC over all of it and a copy
// into and out of its epoll loop's buffers: right for keys and addresses, 20-60 MB/s for a
// shard. Here a value's bytes travel raw on the socket, straight from the sender's memory
// (a mapped file) into the one buffer that will hold them.
//
// Security: the same job token and the same handshake as the store (store/auth.h, the
// steps in session.h): a client without the token can neither write nor read a value. The
// small messages that describe a transfer (name, step, size, CRC-32C) carry the store's
// per-message MAC; the raw bytes do not (an HMAC over them would cost more than the copy).
// Instead the server checks them against the CRC-32C of the MAC'd message before it keeps
// them, the client checks what it reads the same way, and a checkpoint reader checks every
// chunk against the manifest. Like the store, nothing is encrypted (docs/security.md).
//
// Protocol (proto/store.proto, BlobPutRequest and BlobGetRequest) after the handshake:
//   put: request {name, step, bytes, crc32c}; the value of that name is dropped (its memory
//        reused when the size is the same and nobody reads it); the server answers OK once it
//        has room, or refuses; the client sends `bytes` raw bytes; the server answers OK once
//        they match the CRC-32C and the value is in place. A value is whole or absent: absent
//        while a put of its name is under way, and after one that failed.
//   get: request {name, step, bytes}; the server answers found with the value's info then
//        sends its bytes, only when it holds `name` at exactly that step and size.
//
// Bounds: a value's size is checked against max_value_bytes and the memory left under
// max_total_bytes before a byte of it is allocated; at most max_values names; at most
// max_connections connections (each served by its own thread); a connection must finish its
// handshake within auth_timeout, is dropped when a transfer makes no progress for
// io_timeout, and is closed when it sends no request for idle_timeout (clients keep their
// connection from one checkpoint to the next, and make a new one when it was closed). A client that sends anything else
// is dropped with one log line; the others are served on.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace ogai::store {

struct BlobServerLimits {
  int max_connections = 64;
  uint64_t max_value_bytes = uint64_t{16} << 30;
  uint64_t max_total_bytes = 0;  // 0: half of the machine's physical memory
  int max_values = 4096;
  std::chrono::milliseconds auth_timeout{5000};
  std::chrono::milliseconds io_timeout{30000};
  std::chrono::milliseconds idle_timeout{15 * 60 * 1000};
};

class BlobServer {
 public:
  // Binds bind_host:port (0 picks a free port) and starts serving clients that hold `token`.
  static Result<std::unique_ptr<BlobServer>> Start(const std::string& bind_host, int port, const std::string& token,
                                                   const BlobServerLimits& limits = {});
  ~BlobServer();
  BlobServer(const BlobServer&) = delete;
  BlobServer& operator=(const BlobServer&) = delete;

  int port() const;
  int num_connections() const;  // open now, authenticated or not
  uint64_t bytes_held() const;  // values kept, and those being received
  int num_values() const;
  // Stops serving, closes every connection and frees every value. Idempotent.
  void Stop();

  class Impl;

 private:
  explicit BlobServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ogai::store
