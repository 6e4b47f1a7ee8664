// The store's wire frames by hand, for tests and fuzzers that talk to a real StoreServer as a
// hostile or raw client would: Frame() wraps a payload in a frame header; ReadFrame() reads one
// frame's body from a blocking socket (bounded by its SO_RCVTIMEO), false on EOF, error or a
// header the store would refuse.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <string>

#include "store/wire.h"

namespace ogai::store::testing {

inline std::string Frame(const std::string& payload) {
  std::string f(wire_internal::kFrameHeaderBytes, '\0');
  wire_internal::EncodeHeader(static_cast<uint32_t>(payload.size()), f.data());
  return f + payload;
}

inline bool ReadFrame(int fd, std::string* body) {
  char hdr[wire_internal::kFrameHeaderBytes];
  size_t got = 0;
  while (got < sizeof(hdr)) {
    const ssize_t n = ::read(fd, hdr + got, sizeof(hdr) - got);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  uint32_t len = 0;
  if (!wire_internal::DecodeHeader(hdr, wire_internal::kMaxFrameBytes + 64, &len).ok()) return false;
  body->assign(len, '\0');
  for (got = 0; got < len;) {
    const ssize_t n = ::read(fd, body->data() + got, len - got);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace ogai::store::testing
