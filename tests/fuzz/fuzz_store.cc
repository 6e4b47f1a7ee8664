// libFuzzer harness: the store server's frame decoder and request handler, before and after
// authentication, through a real StoreServer on loopback (started once). The first input
// byte picks the mode:
//   even: the rest goes to the server as raw bytes from a stranger (pre-authentication);
//   odd:  the harness authenticates properly (store/auth.h), then sends the rest as frames
//         [u16 length][payload], each sealed with a valid MAC, so the fuzzer reaches every
//         request the handler takes.
// The frame decoder and the MAC check also run on the input directly. Every 128 inputs a
// real client checks that the server still serves.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/log.h"
#include "proto/store.pb.h"
#include "store/auth.h"
#include "store/server.h"
#include "store/store.h"
#include "store/wire.h"
#include "tests/store/raw_frame.h"

namespace {

namespace pb = ::ogai::store::wire;
namespace wi = ::ogai::store::wire_internal;
using ::ogai::store::testing::Frame;
using ::ogai::store::testing::ReadFrame;
constexpr char kToken[] = "fuzz-token";
std::unique_ptr<ogai::store::StoreServer> g_server;

int Connect() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(g_server->port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) std::abort();
  timeval tv{0, 300000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

void Send(int fd, const std::string& s) { (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

// The handshake; returns the client's MAC state, or nothing when the server refused.
bool Authenticate(int fd, wi::FrameMac* mac) {
  const std::string cn(wi::kNonceBytes, 'c');
  pb::Request hello;
  hello.set_id(1);
  hello.mutable_hello()->set_protocol_version(wi::kProtocolVersion);
  hello.mutable_hello()->set_nonce(cn);
  Send(fd, Frame(hello.SerializeAsString()));
  std::string body;
  pb::Response ch;
  if (!ReadFrame(fd, &body) || !ch.ParseFromString(body)) return false;
  pb::Request auth;
  auth.set_id(2);
  auth.mutable_auth()->set_proof(wi::ClientProof(kToken, cn, ch.nonce()));
  Send(fd, Frame(auth.SerializeAsString()));
  if (!ReadFrame(fd, &body)) return false;
  *mac = wi::FrameMac(wi::SessionKey(kToken, cn, ch.nonce()), false);
  std::string_view p;
  return mac->Open(body, &p).ok();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ogai::SetLogLevel(ogai::LogLevel::Error);
  ogai::store::StoreServerLimits l;
  l.auth_timeout = std::chrono::milliseconds(500);
  auto s = ogai::store::StoreServer::Start("127.0.0.1", 0, kToken, l);
  if (!s.ok()) std::abort();
  g_server = std::move(*s);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static int iteration = 0;
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  // The decoder and MAC check, directly.
  if (rest.size() >= wi::kFrameHeaderBytes) {
    uint32_t len = 0;
    (void)wi::DecodeHeader(rest.data(), wi::kMaxPreAuthFrameBytes, &len);
  }
  wi::FrameMac check("k", true);
  std::string_view p;
  (void)check.Open(rest, &p);

  const int fd = Connect();
  if (data[0] % 2 == 0) {
    Send(fd, rest);
  } else {
    wi::FrameMac mac;
    if (Authenticate(fd, &mac)) {
      for (size_t i = 0; i + 2 <= rest.size();) {
        const size_t n =
            std::min<size_t>(rest.size() - i - 2, static_cast<uint8_t>(rest[i]) |
                                                      static_cast<size_t>(static_cast<uint8_t>(rest[i + 1])) << 8);
        Send(fd, Frame(mac.Seal(rest.substr(i + 2, n))));
        i += 2 + n;
      }
    }
  }
  ::shutdown(fd, SHUT_WR);
  char buf[4096];
  while (::read(fd, buf, sizeof(buf)) > 0) {
  }
  ::close(fd);
  if (++iteration % 128 == 0) {
    auto c = ogai::store::ConnectTcpStore("127.0.0.1", g_server->port(), kToken, std::chrono::seconds(5));
    if (!c.ok() || !(*c)->Set("alive", "1").ok()) __builtin_trap();  // the server stopped serving
  }
  return 0;
}
