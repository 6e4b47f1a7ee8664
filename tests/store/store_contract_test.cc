// The Store contract (store/store.h), run against every implementation: a TcpStore talking to
// a StoreServer, and the in-process MemoryStore. Both run the same KvState, so they must
// agree on values, errors, waiting and wake-ups.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store/memory_store.h"
#include "store/server.h"
#include "store/store.h"
#include "tests/store/wait_until.h"

namespace ogai::store {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::WaitUntil;

constexpr char kToken[] = "job-secret-1234";

// One store implementation: clients of one shared key space, and its parked-waiter count.
class Backend {
 public:
  virtual ~Backend() = default;
  // Another client of the same keys (a new connection for TCP, the same object in memory).
  virtual std::shared_ptr<Store> NewClient() = 0;
  virtual int WaiterCount() const = 0;
};

class TcpBackend final : public Backend {
 public:
  TcpBackend() {
    auto s = StoreServer::Start("127.0.0.1", 0, kToken);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (s.ok()) server_ = std::move(*s);
  }
  std::shared_ptr<Store> NewClient() override {
    if (!server_) return nullptr;
    auto c = ConnectTcpStore("127.0.0.1", server_->port(), kToken, 5s);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::shared_ptr<Store>(std::move(*c)) : nullptr;
  }
  int WaiterCount() const override { return server_->WaiterCount(); }

 private:
  std::unique_ptr<StoreServer> server_;
};

class MemoryBackend final : public Backend {
 public:
  std::shared_ptr<Store> NewClient() override { return store_; }
  int WaiterCount() const override { return store_->WaiterCount(); }

 private:
  std::shared_ptr<MemoryStore> store_ = std::make_shared<MemoryStore>();
};

struct Impl {
  const char* name;
  std::function<std::unique_ptr<Backend>()> make;
};

class StoreContractTest : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    store_ = backend_->NewClient();
    ASSERT_NE(store_, nullptr);
  }

  // Waits until n Get/Wait calls are parked in the store, failing the test if they never are.
  void WaitForWaiters(int n) {
    ASSERT_TRUE(WaitUntil([&] { return backend_->WaiterCount() == n; }))
        << "the store never had " << n << " parked waiter(s); it has " << backend_->WaiterCount();
  }

  std::unique_ptr<Backend> backend_;
  std::shared_ptr<Store> store_;
};

TEST_P(StoreContractTest, SetGetOverwrite) {
  ASSERT_TRUE(store_->Set("a", "1").ok());
  auto v = store_->Get("a", 1s);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "1");
  ASSERT_TRUE(store_->Set("a", std::string("bin\0ary", 7)).ok());
  EXPECT_EQ(*store_->Get("a", 1s), std::string("bin\0ary", 7));
  ASSERT_TRUE(store_->Set("empty", "").ok());
  EXPECT_EQ(*store_->Get("empty", 1s), "");
  EXPECT_EQ(store_->Set("", "x").code(), Code::kInvalidArgument);
}

TEST_P(StoreContractTest, GetWaitsForAnotherClient) {
  auto other = backend_->NewClient();
  Result<std::string> v = Internal("not answered");
  std::thread getter([&] { v = store_->Get("late", 30s); });
  WaitForWaiters(1);  // the Get is parked: the Set below must wake it
  EXPECT_TRUE(other->Set("late", "here").ok());
  getter.join();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "here");
  EXPECT_EQ(backend_->WaiterCount(), 0);
}

TEST_P(StoreContractTest, WaitWakesOnlyWhenEveryKeyExists) {
  auto other = backend_->NewClient();
  Status st = Internal("not answered");
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    st = store_->Wait({"w1", "w2"}, 30s);
    done = true;
  });
  WaitForWaiters(1);
  ASSERT_TRUE(other->Set("w1", "x").ok());
  EXPECT_EQ(*other->Add("w2-not-it", 1), 1);
  // Both mutations were answered after the state re-checked the waiter: it is still parked.
  EXPECT_EQ(backend_->WaiterCount(), 1);
  EXPECT_FALSE(done.load());
  EXPECT_EQ(*other->CompareSet("w2", "", "y"), "y");
  waiter.join();
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(backend_->WaiterCount(), 0);
}

TEST_P(StoreContractTest, GetTimeoutNamesKey) {
  auto t0 = Clock::now();
  auto v = store_->Get("missing-key", 200ms);
  auto took = Clock::now() - t0;
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kTimeout);
  EXPECT_NE(v.status().message().find("'missing-key'"), std::string::npos) << v.status().ToString();
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(backend_->WaiterCount(), 0);
}

TEST_P(StoreContractTest, WaitTimeoutListsOnlyMissingKeys) {
  ASSERT_TRUE(store_->Set("k1", "x").ok());
  Status st = store_->Wait({"k1", "k2", "k3"}, 100ms);
  ASSERT_EQ(st.code(), Code::kTimeout) << st.ToString();
  EXPECT_EQ(st.message().find("'k1'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'k2', 'k3'"), std::string::npos) << st.message();
  ASSERT_TRUE(store_->Set("k2", "x").ok());
  ASSERT_TRUE(store_->Set("k3", "x").ok());
  EXPECT_TRUE(store_->Wait({"k1", "k2", "k3"}, 1s).ok());
  EXPECT_TRUE(store_->Wait({}, 0ms).ok());
  EXPECT_EQ(store_->Get("never", 0ms).status().code(), Code::kTimeout);
}

TEST_P(StoreContractTest, AddIsAtomicAcrossClients) {
  constexpr int kThreads = 8, kAdds = 200;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&] {
      auto c = backend_->NewClient();
      for (int i = 0; i < kAdds; ++i) ASSERT_TRUE(c->Add("ctr", 1).ok());
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(*store_->Add("ctr", 0), kThreads * kAdds);
  EXPECT_EQ(*store_->Add("ctr", -5), kThreads * kAdds - 5);
  EXPECT_EQ(*store_->Get("ctr", 1s), std::to_string(kThreads * kAdds - 5));
  ASSERT_TRUE(store_->Set("text", "abc").ok());
  auto bad = store_->Add("text", 1);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'text'"), std::string::npos) << bad.status().ToString();
}

TEST_P(StoreContractTest, CompareSet) {
  // Missing key compares equal to "".
  EXPECT_EQ(*store_->CompareSet("cs", "", "first"), "first");
  EXPECT_EQ(*store_->CompareSet("cs", "wrong", "second"), "first");
  EXPECT_EQ(*store_->CompareSet("cs", "first", "second"), "second");
  EXPECT_EQ(*store_->Get("cs", 1s), "second");
}

TEST_P(StoreContractTest, DeleteTryGetListKeys) {
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

TEST_P(StoreContractTest, PrefixStoresAreIsolatedAndNest) {
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

TEST_P(StoreContractTest, OneClientManyThreadsDoNotBlockEachOther) {
  // A blocking Get in one thread must not stop another thread's Set on the same client.
  Result<std::string> v = Internal("not answered");
  std::thread waiter([&] { v = store_->Get("signal", 30s); });
  WaitForWaiters(1);
  EXPECT_TRUE(store_->Set("signal", "go").ok());
  waiter.join();
  EXPECT_TRUE(v.ok()) << v.status().ToString();
}

TEST_P(StoreContractTest, ManyParkedWaitersAllWakeOnOneSet) {
  constexpr int kWaiters = 16;
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int i = 0; i < kWaiters; ++i) {
    ts.emplace_back([&, i] {
      auto c = backend_->NewClient();
      Status st = i % 2 ? c->Wait({"go"}, 30s) : c->Get("go", 30s).status();
      if (st.ok()) ok++;
    });
  }
  WaitForWaiters(kWaiters);
  ASSERT_TRUE(store_->Set("go", "1").ok());
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), kWaiters);
  EXPECT_EQ(backend_->WaiterCount(), 0);
}

INSTANTIATE_TEST_SUITE_P(Impls, StoreContractTest,
                         ::testing::Values(Impl{"Tcp", [] { return std::unique_ptr<Backend>(new TcpBackend()); }},
                                           Impl{"Memory",
                                                [] { return std::unique_ptr<Backend>(new MemoryBackend()); }}),
                         [](const ::testing::TestParamInfo<Impl>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ogai::store
