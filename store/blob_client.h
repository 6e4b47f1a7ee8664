// BlobClient: one authenticated connection to a BlobServer (blob_server.h), the data
// channel for large values. Not thread-safe: one transfer at a time.
//
// Every call is bounded: Connect by connect_timeout (a dead host, a port nobody listens on,
// a server that accepts but never answers), each transfer by io_timeout without progress.
// After an error the connection is in an unknown state; make a new client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"

namespace ogai::store {

namespace wire_internal {
class Conn;
}

struct Blob {
  std::shared_ptr<char[]> data;
  uint64_t size = 0;
};

class BlobClient {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds io_timeout{10000};
  };
  // Connects to host:port and runs the store's handshake with `token`. A server that does not
  // hold the token, or refuses ours, gives kPermissionDenied.
  static Result<std::unique_ptr<BlobClient>> Connect(const std::string& host, int port, const std::string& token,
                                                     const Options& opts);
  ~BlobClient();

  // Stores the `size` bytes at `data` (sent from there, no copy) as `name`, written for
  // `step`; `crc32c` is their CRC-32C, which the server checks before it keeps them.
  Status Put(const std::string& name, int64_t step, const void* data, uint64_t size, uint32_t crc32c);

  // Put in its four steps, so that one sender can overlap the round trips of several servers
  // (ckpt/peer_copy.cc: each step to every cache before the next). Call them in this order;
  // after an error, stop.
  Status PutRequest(const std::string& name, int64_t step, uint64_t size, uint32_t crc32c);
  Status PutAwaitRoom();  // the server has room for the value, or the refusal
  Status PutBytes(const void* data, uint64_t size);
  Status PutBytesFromFile(int file_fd, uint64_t offset, uint64_t size);  // sendfile(2): no copy
  Status PutAwaitDone();  // the bytes matched their CRC-32C and the value is in place
  // The value `name` if the server holds it at `step` with exactly `size` bytes and they
  // match the CRC-32C it was stored with; nullopt if it holds no such value.
  Result<std::optional<Blob>> Get(const std::string& name, int64_t step, uint64_t size);

  std::string where() const { return where_; }

 private:
  BlobClient(std::unique_ptr<wire_internal::Conn> conn, std::string where, Options opts);
  Status AwaitReply();
  std::unique_ptr<wire_internal::Conn> conn_;
  std::string where_;
  Options opts_;
  uint64_t put_id_ = 0;  // the request id of the put in progress
  std::string put_name_;
};

}  // namespace ogai::store
