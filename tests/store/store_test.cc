#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "store/server.h"
#include "store/store.h"
#include "tests/util/child.h"

extern char** environ;

namespace ogai::store {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kToken[] = "job-secret-1234";

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = StoreServer::Start("127.0.0.1", 0, kToken);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    store_ = Connect();
  }

  std::shared_ptr<Store> Connect() {
    auto c = ConnectTcpStore("127.0.0.1", server_->port(), kToken, 5s);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::shared_ptr<Store>(std::move(*c)) : nullptr;
  }

  // Waits (bounded) until the server reports n clients.
  bool WaitForClients(int n) {
    auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      if (server_->num_clients() == n) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  std::unique_ptr<StoreServer> server_;
  std::shared_ptr<Store> store_;
};

TEST_F(StoreTest, SetGetOverwrite) {
  ASSERT_TRUE(store_->Set("a", "1").ok());
  auto v = store_->Get("a", 1s);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "1");
  ASSERT_TRUE(store_->Set("a", std::string("bin\0ary", 7)).ok());
  EXPECT_EQ(*store_->Get("a", 1s), std::string("bin\0ary", 7));
  ASSERT_TRUE(store_->Set("empty", "").ok());
  EXPECT_EQ(*store_->Get("empty", 1s), "");
}

TEST_F(StoreTest, GetWaitsForAnotherClient) {
  auto other = Connect();
  std::thread setter([&] {
    std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(other->Set("late", "here").ok());
  });
  auto v = store_->Get("late", 10s);
  setter.join();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "here");
}

TEST_F(StoreTest, GetTimeoutNamesKey) {
  auto t0 = Clock::now();
  auto v = store_->Get("missing-key", 200ms);
  auto took = Clock::now() - t0;
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kTimeout);
  EXPECT_NE(v.status().message().find("'missing-key'"), std::string::npos) << v.status().ToString();
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 5s);
}

TEST_F(StoreTest, WaitTimeoutListsOnlyMissingKeys) {
  ASSERT_TRUE(store_->Set("k1", "x").ok());
  Status st = store_->Wait({"k1", "k2", "k3"}, 100ms);
  ASSERT_EQ(st.code(), Code::kTimeout) << st.ToString();
  EXPECT_EQ(st.message().find("'k1'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'k2', 'k3'"), std::string::npos) << st.message();
  ASSERT_TRUE(store_->Set("k2", "x").ok());
  ASSERT_TRUE(store_->Set("k3", "x").ok());
  EXPECT_TRUE(store_->Wait({"k1", "k2", "k3"}, 1s).ok());
  EXPECT_TRUE(store_->Wait({}, 0ms).ok());
}

TEST_F(StoreTest, AddIsAtomicAcrossClients) {
  constexpr int kThreads = 8, kAdds = 200;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&] {
      auto c = Connect();
      for (int i = 0; i < kAdds; ++i) ASSERT_TRUE(c->Add("ctr", 1).ok());
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(*store_->Add("ctr", 0), kThreads * kAdds);
  EXPECT_EQ(*store_->Add("ctr", -5), kThreads * kAdds - 5);
  EXPECT_EQ(*store_->Get("ctr", 1s), std::to_string(kThreads * kAdds - 5));
  ASSERT_TRUE(store_->Set("text", "abc").ok());
  EXPECT_EQ(store_->Add("text", 1).status().code(), Code::kInvalidArgument);
}

TEST_F(StoreTest, CompareSet) {
  // Missing key compares equal to "".
  EXPECT_EQ(*store_->CompareSet("cs", "", "first"), "first");
  EXPECT_EQ(*store_->CompareSet("cs", "wrong", "second"), "first");
  EXPECT_EQ(*store_->CompareSet("cs", "first", "second"), "second");
  EXPECT_EQ(*store_->Get("cs", 1s), "second");
}

TEST_F(StoreTest, DeleteTryGetListKeys) {
  ASSERT_TRUE(store_->Set("ns/b", "2").ok());
  ASSERT_TRUE(store_->Set("ns/a", "1").ok());
  ASSERT_TRUE(store_->Set("other", "3").ok());
  auto keys = store_->ListKeys("ns/");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"ns/a", "ns/b"}));
  EXPECT_EQ(**store_->TryGet("ns/a"), "1");
  EXPECT_FALSE(store_->TryGet("nope")->has_value());
  EXPECT_TRUE(*store_->Delete("ns/a"));
  EXPECT_FALSE(*store_->Delete("ns/a"));
  EXPECT_FALSE(store_->TryGet("ns/a")->has_value());
}

TEST_F(StoreTest, PrefixStoresAreIsolatedAndNest) {
  std::shared_ptr<Store> a = MakePrefixStore(store_, "jobA");
  std::shared_ptr<Store> b = MakePrefixStore(store_, "jobB");
  std::shared_ptr<Store> a_pg = MakePrefixStore(a, "pg0");
  ASSERT_TRUE(a->Set("k", "A").ok());
  ASSERT_TRUE(b->Set("k", "B").ok());
  ASSERT_TRUE(a_pg->Set("k", "A-pg0").ok());
  EXPECT_EQ(*a->Get("k", 1s), "A");
  EXPECT_EQ(*b->Get("k", 1s), "B");
  EXPECT_EQ(*store_->Get("jobA/pg0/k", 1s), "A-pg0");
  EXPECT_EQ(*a->ListKeys(""), (std::vector<std::string>{"k", "pg0/k"}));
  EXPECT_EQ(*a_pg->Add("n", 3), 3);
  EXPECT_EQ(*a_pg->CompareSet("n", "3", "4"), "4");
  EXPECT_TRUE(a_pg->Wait({"k", "n"}, 1s).ok());
  EXPECT_TRUE(*a_pg->Delete("n"));
  EXPECT_EQ(**store_->TryGet("jobB/k"), "B");
  Status st = b->Wait({"absent"}, 50ms);
  EXPECT_NE(st.message().find("jobB/absent"), std::string::npos) << st.ToString();
}

TEST_F(StoreTest, WrongTokenIsRefusedAndSaysSo) {
  auto c = ConnectTcpStore("127.0.0.1", server_->port(), "not-the-token", 2s);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kPermissionDenied);
  EXPECT_NE(c.status().message().find("wrong store token"), std::string::npos)
      << c.status().ToString();
  // The server keeps serving the others.
  EXPECT_TRUE(store_->Set("still", "ok").ok());
}

TEST_F(StoreTest, UnreachableServerGivesClearError) {
  int port = server_->port();
  server_->Stop();
  auto t0 = Clock::now();
  auto c = ConnectTcpStore("127.0.0.1", port, kToken, 300ms);
  ASSERT_FALSE(c.ok());
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_EQ(c.status().code(), Code::kUnavailable);
  EXPECT_NE(c.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << c.status().ToString();
  // An existing client sees the dead server as an error, not a hang.
  Status st = store_->Set("x", "y");
  EXPECT_FALSE(st.ok());
}

TEST_F(StoreTest, PortInUseIsReported) {
  auto s = StoreServer::Start("127.0.0.1", server_->port(), kToken);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kUnavailable);
  EXPECT_NE(s.status().message().find("in use"), std::string::npos) << s.status().ToString();
}

TEST_F(StoreTest, OneClientManyThreadsDoNotBlockEachOther) {
  // A blocking Get in one thread must not stop another thread's Set on the same client.
  std::thread waiter([&] {
    auto v = store_->Get("signal", 10s);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(store_->Set("signal", "go").ok());
  waiter.join();
}

TEST_F(StoreTest, Holds256ConcurrentClients) {
  constexpr int kClients = 256;
  std::vector<std::shared_ptr<Store>> clients(kClients);
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int i = 0; i < kClients; ++i) {
    ts.emplace_back([&, i] {
      auto c = ConnectTcpStore("127.0.0.1", server_->port(), kToken, 20s);
      if (!c.ok()) {
        failures++;
        return;
      }
      clients[i] = std::move(*c);
      auto& s = clients[i];
      if (!s->Set("rank/" + std::to_string(i), std::to_string(i)).ok()) failures++;
      if (!s->Add("arrived", 1).ok()) failures++;
      // Everyone waits for everyone: all 256 are parked on the server at once.
      std::vector<std::string> all;
      for (int j = 0; j < kClients; ++j) all.push_back("rank/" + std::to_string(j));
      if (!s->Wait(all, 60s).ok()) failures++;
      auto v = s->Get("rank/" + std::to_string((i + 1) % kClients), 1s);
      if (!v.ok() || *v != std::to_string((i + 1) % kClients)) failures++;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*store_->Add("arrived", 0), kClients);
  EXPECT_GE(server_->num_clients(), kClients);
}

// Raw socket helpers for misbehaving clients.
int RawConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST_F(StoreTest, GarbageAndHalfFramesAreDroppedOthersServed) {
  int before = server_->num_clients();
  int garbage = RawConnect(server_->port());
  ASSERT_GE(garbage, 0);
  const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_GT(::write(garbage, junk, sizeof(junk)), 0);
  // The server closes the garbage connection: read sees EOF (bounded by SO_RCVTIMEO).
  timeval tv{5, 0};
  ::setsockopt(garbage, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[16];
  EXPECT_EQ(::read(garbage, buf, sizeof(buf)), 0);
  ::close(garbage);

  // A valid header announcing 1000 bytes, then a disconnect after 10 of them.
  int half = RawConnect(server_->port());
  ASSERT_GE(half, 0);
  unsigned char hdr[8] = {'O', 'G', 'S', '1', 0xe8, 0x03, 0, 0};
  ASSERT_EQ(::write(half, hdr, sizeof(hdr)), 8);
  ASSERT_EQ(::write(half, "0123456789", 10), 10);
  ::close(half);

  // An oversized frame header.
  int huge = RawConnect(server_->port());
  unsigned char big[8] = {'O', 'G', 'S', '1', 0xff, 0xff, 0xff, 0x7f};
  ASSERT_EQ(::write(huge, big, sizeof(big)), 8);
  ::setsockopt(huge, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  EXPECT_EQ(::read(huge, buf, sizeof(buf)), 0);
  ::close(huge);

  EXPECT_TRUE(WaitForClients(before));
  ASSERT_TRUE(store_->Set("alive", "yes").ok());
  EXPECT_EQ(*store_->Get("alive", 1s), "yes");
}

TEST_F(StoreTest, ClientKilledMidCallIsDropped) {
  ogai::testing::Child::Options o;
  o.stdout_pipe = true;
  ogai::testing::Child child({OGAI_STORE_CLIENT_HELPER, std::to_string(server_->port()), kToken}, o);
  char line[32] = {};
  ssize_t n = ::read(child.stdout_fd(), line, sizeof(line) - 1);  // "connected"
  ASSERT_GT(n, 0) << child.output();
  int with_child = server_->num_clients();
  EXPECT_GE(with_child, 2);
  std::this_thread::sleep_for(50ms);  // let it park in Get
  child.Kill();
  EXPECT_TRUE(WaitForClients(with_child - 1));
  // The parked Get of the dead client is gone; setting its key is harmless.
  ASSERT_TRUE(store_->Set("never-set", "now").ok());
  EXPECT_EQ(*store_->Get("never-set", 1s), "now");
}

}  // namespace
}  // namespace ogai::store
