#include "store/session.h"

#include <poll.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/digest.h"

namespace ogai::store::wire_internal {

namespace pb = ::ogai::store::wire;

namespace {
void SetError(uint64_t id, pb::ResponseCode code, const std::string& msg, pb::Response* r) {
  r->Clear();
  r->set_id(id);
  r->set_code(code);
  r->set_message(msg);
}
}  // namespace

bool AnswerHello(const pb::Request& req, const std::string& token, ServerHandshake* hs, pb::Response* reply) {
  const uint64_t id = req.id();
  if (req.op_case() != pb::Request::kHello) {
    SetError(id, pb::PERMISSION_DENIED,
             "the first request on a store connection must be Hello (ogai store protocol " +
                 std::to_string(kProtocolVersion) + ")",
             reply);
    return false;
  }
  if (req.hello().protocol_version() != kProtocolVersion) {
    SetError(id, pb::INVALID_ARGUMENT,
             "store protocol version " + std::to_string(req.hello().protocol_version()) + " is not the server's " +
                 std::to_string(kProtocolVersion) + ": use the same ogai build for the launcher and the ranks",
             reply);
    return false;
  }
  if (req.hello().nonce().size() != kNonceBytes) {
    SetError(id, pb::INVALID_ARGUMENT, "store Hello without a 32-byte nonce", reply);
    return false;
  }
  hs->client_nonce = req.hello().nonce();
  hs->server_nonce = RandomBytes(kNonceBytes);
  reply->Clear();
  reply->set_id(id);
  reply->set_nonce(hs->server_nonce);
  reply->set_proof(ServerProof(token, hs->client_nonce, hs->server_nonce));
  return true;
}

bool CheckAuth(const pb::Request& req, const std::string& token, const ServerHandshake& hs, pb::Response* reply,
               FrameMac* mac) {
  const uint64_t id = req.id();
  if (req.op_case() != pb::Request::kAuth) {
    SetError(id, pb::PERMISSION_DENIED, "the second request on a store connection must be Auth", reply);
    return false;
  }
  if (!ConstantTimeEquals(req.auth().proof(), ClientProof(token, hs.client_nonce, hs.server_nonce))) {
    SetError(id, pb::PERMISSION_DENIED,
             "wrong store token: connect with the token of this job (the launcher hands it to every rank)", reply);
    return false;
  }
  *mac = FrameMac(SessionKey(token, hs.client_nonce, hs.server_nonce), true);
  reply->Clear();
  reply->set_id(id);
  return true;
}

Status FromResponse(const pb::Response& r) {
  switch (r.code()) {
    case pb::OK: return Status::Ok();
    case pb::TIMEOUT: return Timeout(r.message());
    case pb::PERMISSION_DENIED: return PermissionDenied(r.message());
    case pb::INVALID_ARGUMENT: return InvalidArgument(r.message());
    case pb::NOT_FOUND: return NotFound(r.message());
    default: return Internal("store server: " + r.message());
  }
}

Status WriteMessage(int fd, FrameMac* mac, const google::protobuf::MessageLite& msg, Clock::time_point deadline) {
  std::string payload;
  msg.SerializeToString(&payload);
  if (payload.size() > kMaxFrameBytes) {
    return InvalidArgument("store message of " + std::to_string(payload.size()) + " bytes exceeds the frame limit");
  }
  if (mac != nullptr && mac->active()) payload = mac->Seal(std::move(payload));
  std::string frame(kFrameHeaderBytes, '\0');
  EncodeHeader(static_cast<uint32_t>(payload.size()), frame.data());
  frame += payload;
  return SendAll(fd, frame, deadline);
}

Status ReadMessage(int fd, FrameMac* mac, uint32_t max_bytes, google::protobuf::MessageLite* msg,
                   Clock::time_point deadline) {
  char hdr[kFrameHeaderBytes];
  OGAI_RETURN_IF_ERROR(RecvAll(fd, hdr, sizeof(hdr), deadline));
  uint32_t len = 0;
  const bool sealed = mac != nullptr && mac->active();
  OGAI_RETURN_IF_ERROR(DecodeHeader(hdr, max_bytes + (sealed ? static_cast<uint32_t>(kMacBytes) : 0u), &len));
  std::string body(len, '\0');
  OGAI_RETURN_IF_ERROR(RecvAll(fd, body.data(), len, deadline));
  std::string_view payload = body;
  if (sealed) OGAI_RETURN_IF_ERROR(mac->Open(body, &payload));
  if (!msg->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Corruption("unparsable store message");
  }
  return Status::Ok();
}

namespace {
// Each piece of a bulk transfer gets io_timeout: at 8 MiB, a peer slower than 8 MiB per
// io_timeout is taken for dead.
constexpr uint64_t kBulkPiece = 8u << 20;
}  // namespace

Status SendBulk(int fd, const char* data, uint64_t n, std::chrono::milliseconds io_timeout) {
  for (uint64_t off = 0; off < n; off += kBulkPiece) {
    const size_t len = static_cast<size_t>(std::min(kBulkPiece, n - off));
    OGAI_RETURN_IF_ERROR(SendAll(fd, data + off, len, Clock::now() + io_timeout));
  }
  return Status::Ok();
}

Status RecvBulk(int fd, char* data, uint64_t n, std::chrono::milliseconds io_timeout) {
  for (uint64_t off = 0; off < n; off += kBulkPiece) {
    const size_t len = static_cast<size_t>(std::min(kBulkPiece, n - off));
    OGAI_RETURN_IF_ERROR(RecvAll(fd, data + off, len, Clock::now() + io_timeout));
  }
  return Status::Ok();
}

Status SendFileBulk(int fd, int file_fd, uint64_t offset, uint64_t n, std::chrono::milliseconds io_timeout) {
  off_t off = static_cast<off_t>(offset);
  const uint64_t end = offset + n;
  auto deadline = Clock::now() + io_timeout;
  while (static_cast<uint64_t>(off) < end) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kBulkPiece, end - static_cast<uint64_t>(off)));
    const ssize_t r = ::sendfile(fd, file_fd, &off, want);
    if (r > 0) {
      deadline = Clock::now() + io_timeout;  // progress
      continue;
    }
    if (r == 0) return IoError("the file ended before its " + std::to_string(n) + " bytes were sent");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return Unavailable(std::string("connection lost while sending: ") + std::strerror(errno));
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Timeout("store socket send timed out");
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000000))) < 0 && errno != EINTR) {
      return ErrnoError("poll on a blob connection", errno);
    }
  }
  return Status::Ok();
}

Conn::~Conn() { ::close(fd_); }

Result<pb::Response> Conn::Exchange(pb::Request& req, Clock::time_point deadline, bool seal) {
  req.set_id(++next_id_);
  OGAI_RETURN_IF_ERROR(WriteMessage(fd_, seal ? &mac_ : nullptr, req, deadline));
  pb::Response resp;
  OGAI_RETURN_IF_ERROR(ReadMessage(fd_, &mac_, kMaxFrameBytes, &resp, deadline));
  if (resp.id() != req.id()) return Corruption("store reply for the wrong request");
  return resp;
}

// The challenge-response of store/auth.h: the token itself is never sent.
Status Conn::Handshake(const std::string& token, Clock::time_point deadline) {
  const std::string cn = RandomBytes(kNonceBytes);
  pb::Request hello;
  hello.mutable_hello()->set_protocol_version(kProtocolVersion);
  hello.mutable_hello()->set_nonce(cn);
  OGAI_ASSIGN_OR_RETURN(pb::Response challenge, Call(hello, deadline));
  OGAI_RETURN_IF_ERROR(FromResponse(challenge));
  const std::string& sn = challenge.nonce();
  if (sn.size() != kNonceBytes || !ConstantTimeEquals(challenge.proof(), ServerProof(token, cn, sn))) {
    return PermissionDenied(
        "wrong store token: the server does not hold this client's token; connect with the token of this job "
        "(the launcher hands it to every rank)");
  }
  pb::Request auth;
  auth.mutable_auth()->set_proof(ClientProof(token, cn, sn));
  mac_ = FrameMac(SessionKey(token, cn, sn), false);
  // The server's answer to Auth is the first message with a MAC; ours carries none yet.
  OGAI_ASSIGN_OR_RETURN(pb::Response ok, Exchange(auth, deadline, false));
  return FromResponse(ok);
}

}  // namespace ogai::store::wire_internal
