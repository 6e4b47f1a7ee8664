// The blob server and client (store/blob_server.h): the data channel that carries checkpoint
// shards between agents. What a value goes through, who may write or read one, and how the
// channel ends when the other side is wrong, short or silent.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "core/crc32c.h"
#include "proto/store.pb.h"
#include "store/blob_client.h"
#include "store/blob_server.h"
#include "store/session.h"
#include "store/wire.h"
#include "tests/util/listener.h"

namespace ogai::store {
namespace {

using namespace std::chrono_literals;
using wire_internal::Clock;
namespace pb = ::ogai::store::wire;

constexpr char kToken[] = "blob-test-token";

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(g());
  return s;
}

std::unique_ptr<BlobServer> StartServer(const BlobServerLimits& limits = {}) {
  auto s = BlobServer::Start("127.0.0.1", 0, kToken, limits);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

std::unique_ptr<BlobClient> Client(const BlobServer& s, const std::string& token = kToken) {
  auto c = BlobClient::Connect("127.0.0.1", s.port(), token, {});
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

Status Put(BlobClient& c, const std::string& name, int64_t step, const std::string& v) {
  return c.Put(name, step, v.data(), v.size(), Crc32c(v.data(), v.size()));
}

std::optional<std::string> Get(BlobClient& c, const std::string& name, int64_t step, uint64_t size) {
  auto r = c.Get(name, step, size);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok() || !r->has_value()) return std::nullopt;
  return std::string((*r)->data.get(), (*r)->size);
}

// Polls `f` for up to 5 s (the server notices a broken client on its own thread).
template <typename F>
bool Eventually(F f) {
  const auto end = Clock::now() + 5s;
  while (Clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return f();
}

TEST(Blob, AValueComesBackOnlyAtItsStepAndSizeAndIsReplacedWhole) {
  auto s = StartServer();
  auto c = Client(*s);
  ASSERT_NE(c, nullptr);
  const std::string a = Bytes((17 << 20) + 3, 1);  // several 8 MiB pieces and a ragged end
  ASSERT_TRUE(Put(*c, "rank_00000.shard", 5, a).ok());
  EXPECT_EQ(Get(*c, "rank_00000.shard", 5, a.size()), a);
  EXPECT_EQ(Get(*c, "rank_00000.shard", 6, a.size()), std::nullopt) << "another step";
  EXPECT_EQ(Get(*c, "rank_00000.shard", 5, a.size() - 1), std::nullopt) << "another size";
  EXPECT_EQ(Get(*c, "rank_00001.shard", 5, a.size()), std::nullopt) << "another name";
  // The same size again: the value's memory takes the new bytes, nothing more is held.
  const std::string a2 = Bytes(a.size(), 11);
  ASSERT_TRUE(Put(*c, "rank_00000.shard", 7, a2).ok());
  EXPECT_EQ(s->bytes_held(), a.size());
  EXPECT_EQ(Get(*c, "rank_00000.shard", 7, a.size()), a2);
  const std::string b = Bytes(1000, 2);
  ASSERT_TRUE(Put(*c, "rank_00000.shard", 10, b).ok());
  EXPECT_EQ(Get(*c, "rank_00000.shard", 10, b.size()), b);
  EXPECT_EQ(Get(*c, "rank_00000.shard", 5, a.size()), std::nullopt) << "the old copy is gone";
  EXPECT_EQ(s->num_values(), 1);
  EXPECT_TRUE(Eventually([&] { return s->bytes_held() == b.size(); })) << s->bytes_held();
  const std::string empty;
  ASSERT_TRUE(Put(*c, "empty", 1, empty).ok());
  EXPECT_EQ(Get(*c, "empty", 1, 0), empty);
}

TEST(Blob, AClientWithoutTheTokenCanNeitherWriteNorRead) {
  auto s = StartServer();
  auto good = Client(*s);
  ASSERT_NE(good, nullptr);
  ASSERT_TRUE(Put(*good, "secret", 1, "the shard").ok());

  auto bad = BlobClient::Connect("127.0.0.1", s->port(), "not-the-token", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kPermissionDenied) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("wrong store token"), std::string::npos) << bad.status().ToString();

  // A client that skips the handshake and asks straight away gets nothing but a refusal.
  auto fd = wire_internal::DialTcp("127.0.0.1", s->port(), Clock::now() + 2s);
  ASSERT_TRUE(fd.ok());
  wire_internal::Conn raw(*fd);
  pb::Request get;
  get.mutable_blob_get()->set_name("secret");
  get.mutable_blob_get()->set_step(1);
  get.mutable_blob_get()->set_bytes(9);
  auto r = raw.Call(get, Clock::now() + 2s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->code(), pb::PERMISSION_DENIED);
  EXPECT_FALSE(r->found());
  EXPECT_TRUE(r->blob().name().empty());
  char byte;
  Status closed = wire_internal::RecvAll(*fd, &byte, 1, Clock::now() + 2s);
  EXPECT_EQ(closed.code(), Code::kUnavailable) << "and the connection is closed: " << closed.ToString();

  // A server without our token is not talked to either (the client checks its proof).
  auto impostor = BlobServer::Start("127.0.0.1", 0, "impostor-token");
  ASSERT_TRUE(impostor.ok());
  auto c = BlobClient::Connect("127.0.0.1", (*impostor)->port(), kToken, {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kPermissionDenied);
  EXPECT_EQ((*impostor)->num_values(), 0);
  EXPECT_EQ(Get(*good, "secret", 1, 9), "the shard") << "the refusals changed nothing";
}

TEST(Blob, AnOversizedValueIsRefusedBeforeAnythingIsAllocated) {
  BlobServerLimits l;
  l.max_value_bytes = 4 << 20;
  l.max_total_bytes = 6 << 20;
  auto s = StartServer(l);
  auto c = Client(*s);
  ASSERT_NE(c, nullptr);
  // 1 TiB announced, 1 byte here: the server refuses on the announcement, so the client never
  // sends (and never reads past its byte).
  const char one = 'x';
  Status st = c->Put("huge", 1, &one, uint64_t{1} << 40, 0);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("exceeds the limit of 4194304 bytes per value"), std::string::npos) << st.ToString();
  EXPECT_EQ(s->bytes_held(), 0u);

  c = Client(*s);
  ASSERT_TRUE(Put(*c, "a", 1, Bytes(4 << 20, 3)).ok());
  st = Put(*c, "b", 1, Bytes(3 << 20, 4));
  ASSERT_FALSE(st.ok()) << "4 + 3 MiB is over the 6 MiB in all";
  EXPECT_NE(st.message().find("no room for value 'b'"), std::string::npos) << st.ToString();
  EXPECT_EQ(s->num_values(), 1);
  EXPECT_EQ(s->bytes_held(), uint64_t{4} << 20);
}

TEST(Blob, ATruncatedOrDamagedTransferLeavesNoValueBehind) {
  auto s = StartServer();
  auto c = Client(*s);
  ASSERT_NE(c, nullptr);
  const std::string v1 = Bytes(1 << 20, 5);
  ASSERT_TRUE(Put(*c, "shard", 1, v1).ok());

  // Announce 1 MiB, send half, hang up.
  {
    auto fd = wire_internal::DialTcp("127.0.0.1", s->port(), Clock::now() + 2s);
    ASSERT_TRUE(fd.ok());
    wire_internal::Conn raw(*fd);
    ASSERT_TRUE(raw.Handshake(kToken, Clock::now() + 2s).ok());
    const std::string v2 = Bytes(1 << 20, 6);
    pb::Request put;
    pb::BlobInfo* info = put.mutable_blob_put()->mutable_blob();
    info->set_name("shard");
    info->set_step(2);
    info->set_bytes(v2.size());
    info->set_crc32c(Crc32c(v2.data(), v2.size()));
    auto go = raw.Call(put, Clock::now() + 2s);
    ASSERT_TRUE(go.ok());
    ASSERT_EQ(go->code(), pb::OK);
    ASSERT_TRUE(wire_internal::SendBulk(*fd, v2.data(), v2.size() / 2, 2000ms).ok());
  }  // closed here
  // The put replaced the value of step 1 (of no use once step 2 is committed), and the half
  // of step 2 is never served.
  EXPECT_TRUE(Eventually([&] { return s->bytes_held() == 0; })) << "the half value is freed";
  EXPECT_EQ(Get(*c, "shard", 2, 1 << 20), std::nullopt);
  EXPECT_EQ(Get(*c, "shard", 1, v1.size()), std::nullopt);
  EXPECT_EQ(s->num_values(), 0);
  ASSERT_TRUE(Put(*c, "shard", 1, v1).ok());

  // Bytes that do not match the CRC-32C announced with them.
  std::string damaged = Bytes(1 << 20, 7);
  const uint32_t crc = Crc32c(damaged.data(), damaged.size());
  damaged[12345] ^= 0x10;
  auto c2 = Client(*s);
  Status st = c2->Put("shard", 3, damaged.data(), damaged.size(), crc);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("does not match its CRC-32C"), std::string::npos) << st.ToString();
  EXPECT_EQ(Get(*c, "shard", 3, damaged.size()), std::nullopt);
  EXPECT_EQ(Get(*c, "shard", 1, v1.size()), std::nullopt);
  EXPECT_TRUE(Eventually([&] { return s->bytes_held() == 0; }));
}

TEST(Blob, AReaderKeepsTheBytesItIsReadingWhenAPutReplacesThem) {
  auto s = StartServer();
  auto c = Client(*s);
  ASSERT_NE(c, nullptr);
  const std::string old_bytes = Bytes(32 << 20, 12);  // far more than the socket buffers hold
  ASSERT_TRUE(Put(*c, "shard", 1, old_bytes).ok());
  // A reader that asks for the value and then reads it slowly: the server is still sending.
  auto fd = wire_internal::DialTcp("127.0.0.1", s->port(), Clock::now() + 2s);
  ASSERT_TRUE(fd.ok());
  wire_internal::Conn reader(*fd);
  ASSERT_TRUE(reader.Handshake(kToken, Clock::now() + 2s).ok());
  pb::Request get;
  get.mutable_blob_get()->set_name("shard");
  get.mutable_blob_get()->set_step(1);
  get.mutable_blob_get()->set_bytes(old_bytes.size());
  auto r = reader.Call(get, Clock::now() + 2s);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->found());
  // A put of the same size meanwhile must not take the memory being sent.
  const std::string new_bytes = Bytes(old_bytes.size(), 13);
  ASSERT_TRUE(Put(*c, "shard", 2, new_bytes).ok());
  EXPECT_EQ(s->bytes_held(), 2 * old_bytes.size()) << "a fresh buffer for the new value";
  std::string got(old_bytes.size(), '\0');
  ASSERT_TRUE(wire_internal::RecvBulk(*fd, got.data(), got.size(), 5000ms).ok());
  EXPECT_TRUE(got == old_bytes) << "the reader got the value it asked for, whole";
  EXPECT_EQ(Get(*c, "shard", 2, new_bytes.size()), new_bytes);
  EXPECT_TRUE(Eventually([&] { return s->bytes_held() == new_bytes.size(); })) << "the old one freed after its read";
}

// A peer that accepts the connection and never answers (a frozen agent: the kernel still
// completes the TCP handshake for it).
using SilentListener = ::ogai::testing::LoopbackListener;

TEST(Blob, ADeadOrSilentPeerGivesUpInBoundedTime) {
  BlobClient::Options o;
  o.connect_timeout = 300ms;
  o.io_timeout = 300ms;
  // Nobody listens: refused at once.
  int free_port = 0;
  {
    SilentListener l;
    ASSERT_TRUE(l.ok());
    free_port = l.port();
  }
  auto t0 = Clock::now();
  auto dead = BlobClient::Connect("127.0.0.1", free_port, kToken, o);
  EXPECT_FALSE(dead.ok());
  EXPECT_LT(Clock::now() - t0, 2s);

  // Accepted by the kernel, never answered: the handshake times out.
  SilentListener silent;
  ASSERT_TRUE(silent.ok());
  t0 = Clock::now();
  auto c = BlobClient::Connect("127.0.0.1", silent.port(), kToken, o);
  const auto took = Clock::now() - t0;
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kTimeout) << c.status().ToString();
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);

  // A server that authenticates, says "go", then stops reading mid-transfer: the put gives up
  // once a piece makes no progress for io_timeout.
  SilentListener stalls;
  ASSERT_TRUE(stalls.ok());
  std::atomic<bool> done{false};
  std::thread server([&] {
    const int fd = ::accept(stalls.fd(), nullptr, nullptr);
    ASSERT_GE(fd, 0);
    const auto deadline = Clock::now() + 5s;
    wire_internal::ServerHandshake hs;
    wire_internal::FrameMac mac;
    pb::Request req;
    pb::Response r;
    ASSERT_TRUE(wire_internal::ReadMessage(fd, nullptr, 4096, &req, deadline).ok());
    ASSERT_TRUE(wire_internal::AnswerHello(req, kToken, &hs, &r));
    ASSERT_TRUE(wire_internal::WriteMessage(fd, nullptr, r, deadline).ok());
    ASSERT_TRUE(wire_internal::ReadMessage(fd, nullptr, 4096, &req, deadline).ok());
    ASSERT_TRUE(wire_internal::CheckAuth(req, kToken, hs, &r, &mac));
    ASSERT_TRUE(wire_internal::WriteMessage(fd, &mac, r, deadline).ok());
    ASSERT_TRUE(wire_internal::ReadMessage(fd, &mac, 4096, &req, deadline).ok());
    pb::Response go;
    go.set_id(req.id());
    ASSERT_TRUE(wire_internal::WriteMessage(fd, &mac, go, deadline).ok());
    while (!done.load()) std::this_thread::sleep_for(10ms);  // and read nothing more
    ::close(fd);
  });
  auto staller = BlobClient::Connect("127.0.0.1", stalls.port(), kToken, o);
  ASSERT_TRUE(staller.ok()) << staller.status().ToString();
  const std::string big = Bytes(64 << 20, 8);  // far more than the socket buffers hold
  t0 = Clock::now();
  Status st = (*staller)->Put("shard", 1, big.data(), big.size(), Crc32c(big.data(), big.size()));
  const auto stalled = Clock::now() - t0;
  done.store(true);
  server.join();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kTimeout) << st.ToString();
  EXPECT_LT(stalled, 3s);
}

TEST(Blob, StopEndsEveryConnectionAndFreesEveryValue) {
  auto s = StartServer();
  auto c = Client(*s);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(Put(*c, "x", 1, Bytes(1 << 20, 9)).ok());
  SilentListener unused;  // keeps a descriptor number busy, so reuse would show
  ASSERT_TRUE(unused.ok());
  auto idle = Client(*s);
  EXPECT_TRUE(Eventually([&] { return s->num_connections() == 2; }));
  s->Stop();
  EXPECT_EQ(s->num_connections(), 0);
  EXPECT_EQ(s->num_values(), 0);
  EXPECT_EQ(s->bytes_held(), 0u);
  auto after = c->Get("x", 1, 1 << 20);
  EXPECT_FALSE(after.ok()) << "the server is gone";
}

}  // namespace
}  // namespace ogai::store
