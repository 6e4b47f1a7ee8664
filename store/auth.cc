#include "store/auth.h"

#include "core/digest.h"

namespace ogai::store::wire_internal {

namespace {
std::string Derive(std::string_view token, const char* label, std::string_view c, std::string_view s) {
  std::string msg = "ogai-store-";
  msg += label;
  msg += '\0';
  msg += c;
  msg += s;
  return HmacSha256(token, msg);
}
}  // namespace

std::string ServerProof(std::string_view token, std::string_view c, std::string_view s) {
  return Derive(token, "server", c, s);
}
std::string ClientProof(std::string_view token, std::string_view c, std::string_view s) {
  return Derive(token, "client", c, s);
}
std::string SessionKey(std::string_view token, std::string_view c, std::string_view s) {
  return Derive(token, "key", c, s);
}

std::string FrameMac::Mac(char direction, uint64_t seq, std::string_view payload) const {
  std::string msg;
  msg.reserve(9 + payload.size());
  msg += direction;
  for (int i = 0; i < 8; ++i) msg += static_cast<char>((seq >> (8 * i)) & 0xff);
  msg += payload;
  return HmacSha256(key_, msg);
}

std::string FrameMac::Seal(std::string payload) {
  const std::string tag = Mac(is_server_ ? 'S' : 'C', send_seq_++, payload);
  payload += tag;
  return payload;
}

Status FrameMac::Open(std::string_view body, std::string_view* payload) {
  if (body.size() < kMacBytes) return PermissionDenied("store message too short to carry its MAC");
  std::string_view p = body.substr(0, body.size() - kMacBytes);
  const std::string want = Mac(is_server_ ? 'C' : 'S', recv_seq_, p);
  if (!ConstantTimeEquals(want, body.substr(p.size()))) {
    return PermissionDenied("store message failed its MAC check (altered, replayed or not from this connection)");
  }
  ++recv_seq_;
  *payload = p;
  return Status::Ok();
}

}  // namespace ogai::store::wire_internal
