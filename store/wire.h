// Framing and socket helpers shared by the store client and server (internal).
//
// Frame: "OGS1" (4 bytes) | payload length (uint32, little endian) | payload.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace ogai::store::wire_internal {

inline constexpr uint32_t kFrameMagic = 0x3153474f;  // "OGS1" read as little endian
inline constexpr size_t kFrameHeaderBytes = 8;
inline constexpr uint32_t kMaxFrameBytes = 64u << 20;
// Until a client has authenticated, its frames may be no larger than this (a Hello or an
// Auth is under 100 bytes): a stranger cannot make the server buffer megabytes.
inline constexpr uint32_t kMaxPreAuthFrameBytes = 4096;
inline constexpr uint32_t kProtocolVersion = 2;

void EncodeHeader(uint32_t payload_bytes, char out[kFrameHeaderBytes]);
// Checks the magic and the size limit (`max_bytes`); sets *payload_bytes.
Status DecodeHeader(const char in[kFrameHeaderBytes], uint32_t max_bytes, uint32_t* payload_bytes);

using Clock = std::chrono::steady_clock;

// Blocking helpers on a socket, bounded by an absolute deadline.
Status SendAll(int fd, const std::string& bytes, Clock::time_point deadline);
Status SendAll(int fd, const char* data, size_t n, Clock::time_point deadline);
Status RecvAll(int fd, char* buf, size_t n, Clock::time_point deadline);

// Opens a TCP connection to host:port, giving up at deadline. Sets TCP_NODELAY.
Result<int> DialTcp(const std::string& host, int port, Clock::time_point deadline);

}  // namespace ogai::store::wire_internal
