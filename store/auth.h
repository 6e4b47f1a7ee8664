// The store's authentication (internal): a challenge-response handshake in which the job
// token never crosses the wire, then an HMAC on every message under a key of this
// connection alone.
//
//   client -> server   Hello{protocol_version, nonce = c}                 (c: 32 random bytes)
//   server -> client   Response{nonce = s, proof = HMAC(token, "server" | c | s)}
//   client             checks the server's proof (a server without the token is refused)
//   client -> server   Auth{proof = HMAC(token, "client" | c | s)}
//   server             checks it; both sides derive key = HMAC(token, "key" | c | s)
//   server -> client   Response OK, the first message with a MAC
//
// From then on each frame's payload is followed by HMAC(key, direction | sequence | payload)
// (32 bytes, counted in the frame's length): a message altered, replayed, reordered or moved
// to another connection fails its check and the connection is dropped. The messages are
// authenticated, not encrypted: who can read the network can read the keys and values
// (docs/security.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace ogai::store::wire_internal {

inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kMacBytes = 32;

std::string ServerProof(std::string_view token, std::string_view client_nonce, std::string_view server_nonce);
std::string ClientProof(std::string_view token, std::string_view client_nonce, std::string_view server_nonce);
std::string SessionKey(std::string_view token, std::string_view client_nonce, std::string_view server_nonce);

// The MACs of one side of an authenticated connection: what it sends and what it receives
// each carry their own sequence number.
class FrameMac {
 public:
  FrameMac() = default;
  // `is_server`: which direction this side sends in.
  FrameMac(std::string key, bool is_server) : key_(std::move(key)), is_server_(is_server) {}
  bool active() const { return !key_.empty(); }
  // payload + its MAC, for the next frame this side sends.
  std::string Seal(std::string payload);
  // Checks the MAC of the next frame this side receives (payload then MAC) and sets *payload
  // to the part before it. A bad MAC is kPermissionDenied.
  Status Open(std::string_view body, std::string_view* payload);

 private:
  std::string Mac(char direction, uint64_t seq, std::string_view payload) const;
  std::string key_;
  bool is_server_ = false;
  uint64_t send_seq_ = 0;
  uint64_t recv_seq_ = 0;
};

}  // namespace ogai::store::wire_internal
