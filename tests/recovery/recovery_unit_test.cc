// The pieces of recovery that need no job: the elastic layout rule, the failure history of
// the root-cause block, peer copies (push, fetch, damage) against real shard caches in this
// process, and reading a checkpoint from in-memory copies.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "ckpt/peer_copy.h"
#include "ckpt/reader.h"
#include "ckpt/writer.h"
#include "core/crc32c.h"
#include "launcher/failure.h"
#include "store/blob_client.h"
#include "store/blob_server.h"
#include "tests/util/listener.h"
#include "train/dist_setup.h"

namespace ogai {
namespace {

namespace fs = std::filesystem;

class Tmp {
 public:
  Tmp() {
    std::string t = (fs::temp_directory_path() / "ogai_recovery_unit.XXXXXX").string();
    std::vector<char> b(t.begin(), t.end());
    b.push_back('\0');
    path_ = ::mkdtemp(b.data());
  }
  ~Tmp() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& n) const { return path_ + "/" + n; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- elastic layout -------------------------------------------------------------------

Config Layout(int dp, int tp, int pp, int micro, int global) {
  Config c;
  c.model.heads = 4;
  c.model.layers = 4;
  c.parallel.dp = dp;
  c.parallel.tp = tp;
  c.parallel.pp = pp;
  c.train.micro_batch = micro;
  c.train.global_batch = global;
  EXPECT_TRUE(ValidateConfig(c).ok());
  return c;
}

launch::RankEnv World(int world, bool elastic) {
  launch::RankEnv e;
  e.world_size = world;
  e.elastic = elastic;
  return e;
}

TEST(Elastic, ShrinkKeepsTheGlobalBatchByRaisingAccumulation) {
  Config c = Layout(4, 1, 1, 2, 16);  // grad_accum 2
  ASSERT_EQ(c.train.grad_accum, 2);
  auto r = train::AdaptToWorldSize(c, World(2, true));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r);
  EXPECT_EQ(c.parallel.dp, 2);
  EXPECT_EQ(c.train.grad_accum, 4);
  EXPECT_EQ(c.train.global_batch, 16);
  EXPECT_EQ(c.train.micro_batch * c.train.grad_accum * c.parallel.dp, 16);
}

TEST(Elastic, KeepsTensorAndPipelineSizes) {
  Config c = Layout(4, 2, 2, 1, 8);  // 16 ranks, grad_accum 2
  auto r = train::AdaptToWorldSize(c, World(8, true));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(c.parallel.tp, 2);
  EXPECT_EQ(c.parallel.pp, 2);
  EXPECT_EQ(c.parallel.dp, 2);
  EXPECT_EQ(c.train.grad_accum, 4);
}

TEST(Elastic, NothingChangesWithoutElasticityOrAtTheConfiguredSize) {
  Config c = Layout(4, 1, 1, 2, 16);
  auto r = train::AdaptToWorldSize(c, World(2, false));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(c.parallel.dp, 4);
  r = train::AdaptToWorldSize(c, World(4, true));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(c.train.grad_accum, 2);
}

TEST(Elastic, RefusesAWorldThatTpTimesPpDoesNotDivide) {
  Config c = Layout(2, 2, 1, 1, 4);
  auto r = train::AdaptToWorldSize(c, World(3, true));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("parallel.tp x parallel.pp = 2 does not divide 3 ranks"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(c.parallel.dp, 2) << "the config changed although the layout was refused";
}

TEST(Elastic, RefusesAGlobalBatchTheNewDpDoesNotDivide) {
  Config c = Layout(4, 1, 1, 2, 8);
  auto r = train::AdaptToWorldSize(c, World(3, true));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(
      r.status().message().find("global batch of 8 sequences is not a multiple of train.micro_batch x dp = 2 x 3"),
      std::string::npos)
      << r.status().message();
}

// ---- failure history -------------------------------------------------------------------

TEST(FailureHistory, RootCauseListsEveryRound) {
  launch::RankFailure a;
  a.kind = launch::RankFailure::Kind::kSignaled;
  a.signal = 9;
  a.rank = 1;
  a.node_rank = 0;
  a.host = "vm";
  a.pid = 123;
  a.has_step = true;
  a.last_step = 7;
  launch::RankFailure b = a;
  b.kind = launch::RankFailure::Kind::kHung;
  b.rank = 0;
  b.idle_seconds = 3.2;
  b.pid = 456;
  const std::string s = launch::FormatRootCause(b, {{0, 4.0, a}, {1, 9.5, b}});
  EXPECT_NE(s.find("ogai-run: job failed: rank 0 (node 0, vm) made no progress for 3.2 s (last step 7)"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("failures, one per round (1 restart used):"), std::string::npos) << s;
  EXPECT_NE(s.find("round 0 at 4.0 s: rank 1 (node 0, vm) was killed by signal 9 (SIGKILL), pid 123, after step 7"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("round 1 at 9.5 s: rank 0 (node 0, vm) made no progress for 3.2 s (last step 7)"), std::string::npos)
      << s;
  // One round: no history section.
  EXPECT_EQ(launch::FormatRootCause(a, {{0, 4.0, a}}).find("failures, one per round"), std::string::npos);
}

// ---- peer copies ------------------------------------------------------------------------

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(g());
  return s;
}

struct Caches {
  std::vector<std::unique_ptr<store::BlobServer>> servers;
  std::vector<std::string> addrs;
  explicit Caches(int n) {
    for (int i = 0; i < n; ++i) {
      auto s = store::BlobServer::Start("127.0.0.1", 0, "tok");
      EXPECT_TRUE(s.ok());
      addrs.push_back("127.0.0.1:" + std::to_string((*s)->port()));
      servers.push_back(std::move(s).value());
    }
  }
};

std::unique_ptr<ckpt::PeerCopies> Peers(const Caches& c, int node, const std::string& local_dir, int copies = 1) {
  ckpt::PeerCopies::Options o;
  o.caches = c.addrs;
  o.node = node;
  o.copies = copies;
  o.token = "tok";
  o.local_dir = local_dir;
  o.fetch_connect_timeout = std::chrono::milliseconds(100);
  auto p = ckpt::PeerCopies::Create(o);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::move(p).value();
}

TEST(PeerCopies, CacheListParsesAndNamesABadEntry) {
  auto l = ckpt::PeerCopies::ParseCacheList("10.0.0.1:4000,host-b:5,");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, (std::vector<std::string>{"10.0.0.1:4000", "host-b:5", ""}));
  auto bad = ckpt::PeerCopies::ParseCacheList("10.0.0.1:4000,hostb");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("entry 'hostb' is not host:port"), std::string::npos);
}

TEST(PeerCopies, PushGoesToThisNodesFolderAndTheNextNodes) {
  Caches c(3);
  Tmp t;
  EXPECT_EQ(Peers(c, 2, t.path())->Targets(), (std::vector<int>{2, 0}));
  EXPECT_EQ(Peers(c, 1, "")->Targets(), (std::vector<int>{1, 2}));
  EXPECT_EQ(Peers(c, 0, t.path(), 2)->Targets(), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(Peers(c, 0, t.path(), 5)->Targets(), (std::vector<int>{0, 1, 2})) << "more copies than nodes";
}

TEST(PeerCopies, FetchFindsTheCopyLocallyOrOnThePeerAndOnlyAtItsStep) {
  Caches c(2);
  Tmp t;
  fs::create_directories(t / "node0");
  fs::create_directories(t / "node1_fresh");
  // Larger than one piece of a bulk transfer (8 MiB), not a multiple of anything.
  const std::string bytes = RandomBytes((9 << 20) + 12345, 1);
  std::ofstream(t / "rank_00000.shard", std::ios::binary) << bytes;
  auto pushed = Peers(c, 0, t / "node0")->Push(10, t / "rank_00000.shard");
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(pushed->places, 3) << "this node's folder, its cache and node 1's cache";
  EXPECT_EQ(pushed->bytes, static_cast<int64_t>(bytes.size()));

  // Node 0 (its folder survived): from the folder.
  ckpt::PeerCopies::FetchStats fs0;
  auto got = Peers(c, 0, t / "node0")->Fetch(10, {{"rank_00000.shard", bytes.size()}}, &fs0);
  ASSERT_EQ(got.count("rank_00000.shard"), 1u);
  EXPECT_EQ(fs0.local_files, 1);
  const ckpt::ShardView& v = got.at("rank_00000.shard");
  ASSERT_EQ(v.size, bytes.size());
  EXPECT_EQ(std::memcmp(v.data, bytes.data(), bytes.size()), 0);

  // A replacement node 0 with an empty folder and cache: from node 1's cache.
  c.servers[0]->Stop();
  ckpt::PeerCopies::FetchStats fs1;
  got = Peers(c, 0, t / "node1_fresh")->Fetch(10, {{"rank_00000.shard", bytes.size()}}, &fs1);
  ASSERT_EQ(got.count("rank_00000.shard"), 1u);
  EXPECT_EQ(fs1.local_files, 0);
  EXPECT_EQ(std::string(got.at("rank_00000.shard").data, got.at("rank_00000.shard").size), bytes);

  // Another step or another size: not this checkpoint's file.
  EXPECT_TRUE(Peers(c, 0, t / "node0")->Fetch(15, {{"rank_00000.shard", bytes.size()}}, nullptr).empty());
  EXPECT_TRUE(Peers(c, 0, t / "node0")->Fetch(10, {{"rank_00000.shard", bytes.size() - 1}}, nullptr).empty());

  // A damaged copy is refused by the cache (it checks the bytes against their CRC-32C) and
  // never served: that cache then has no copy, and the fetch finds none.
  auto client = store::BlobClient::Connect("127.0.0.1", c.servers[1]->port(), "tok", {});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  std::string damaged = bytes;
  damaged[4096] ^= 1;
  Status put =
      (*client)->Put("rank_00000.shard", 10, damaged.data(), damaged.size(), Crc32c(bytes.data(), bytes.size()));
  EXPECT_FALSE(put.ok());
  EXPECT_NE(put.message().find("does not match its CRC-32C"), std::string::npos) << put.ToString();
  EXPECT_TRUE(Peers(c, 0, t / "node1_fresh")->Fetch(10, {{"rank_00000.shard", bytes.size()}}, nullptr).empty());
}

TEST(PeerCopies, AnUnreachableCacheIsSkipped) {
  ckpt::PeerCopies::Options o;
  o.caches = {"127.0.0.1:1", "127.0.0.1:2"};  // nothing listens there
  o.node = 0;
  o.token = "tok";
  o.fetch_connect_timeout = std::chrono::milliseconds(100);
  auto p = ckpt::PeerCopies::Create(o);
  ASSERT_TRUE(p.ok());
  ckpt::PeerCopies::FetchStats st;
  EXPECT_TRUE((*p)->Fetch(1, {{"rank_00000.shard", 100}}, &st).empty());
  EXPECT_EQ(st.files, 0);
}

TEST(PeerCopies, ASilentCacheCostsOnePushOneTimeoutThenIsLeftOut) {
  Caches c(2);
  // Node 1's agent is frozen: the kernel accepts the connection, nobody answers.
  ::ogai::testing::LoopbackListener silent;
  ASSERT_TRUE(silent.ok());
  Tmp t;
  fs::create_directories(t / "node0");
  std::ofstream(t / "rank_00000.shard", std::ios::binary) << RandomBytes(100000, 3);
  ckpt::PeerCopies::Options o;
  o.caches = {c.addrs[0], "127.0.0.1:" + std::to_string(silent.port())};
  o.node = 0;
  o.copies = 1;
  o.token = "tok";
  o.local_dir = t / "node0";
  o.push_timeout = std::chrono::milliseconds(300);
  auto p = ckpt::PeerCopies::Create(o);
  ASSERT_TRUE(p.ok());
  auto t0 = std::chrono::steady_clock::now();
  auto first = (*p)->Push(5, t / "rank_00000.shard");
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->places, 2) << "this node's folder and cache; not node 1's";
  EXPECT_LT(took, std::chrono::seconds(2));
  t0 = std::chrono::steady_clock::now();
  auto second = (*p)->Push(10, t / "rank_00000.shard");
  took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->places, 2);
  EXPECT_LT(took, std::chrono::milliseconds(250)) << "node 1 is not waited for again";
}

// ---- reading from memory -------------------------------------------------------------

TEST(ShardsInMemory, ReadGivesTheSameBitsAsTheFilesAndChecksThem) {
  Tmp t;
  std::vector<float> a(3000), b(77);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i) * 0.25f - 3.0f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i * i);
  ckpt::WriterOptions wo;
  wo.dir = t / "ck";
  wo.async = false;
  wo.chunk_bytes = 4096;
  std::string committed_shard;
  wo.on_committed = [&](int64_t, const std::string& shard) { committed_shard = shard; };
  auto w = ckpt::CheckpointWriter::Create(wo);
  ASSERT_TRUE(w.ok());
  ckpt::SaveMeta meta;
  meta.step = 4;
  meta.layout.set_world_size(1);
  meta.layout.set_dp(1);
  meta.layout.set_tp(1);
  meta.layout.set_pp(1);
  ASSERT_TRUE((*w)->Save({{"a", {30, 100}, ckpt::Region::Whole({30, 100}), a.data()},
                          {"b", {77}, ckpt::Region::Whole({77}), b.data()}},
                         meta)
                  .ok());
  EXPECT_EQ(committed_shard, t / "ck/step_00000004/rank_00000.shard") << "on_committed did not name the shard";
  auto ck = ckpt::Checkpoint::Open(t / "ck");
  ASSERT_TRUE(ck.ok());
  std::vector<float> ga(a.size()), gb(b.size());
  const std::vector<ckpt::ReadSlice> plan = {{"a", {30, 100}, ckpt::Region::Box({10, 0}, {5, 100}), ga.data()},
                                             {"b", {77}, ckpt::Region::Whole({77}), gb.data()}};
  ASSERT_EQ((*ck)->FilesFor(plan), std::vector<int>{0});
  std::ifstream in(committed_shard, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The file on disk is gone: everything must come from memory.
  fs::remove(committed_shard);
  ckpt::ShardBytes mem;
  mem["rank_00000.shard"] = ckpt::ShardView::Own(bytes);
  ASSERT_TRUE((*ck)->Read(plan, &mem).ok());
  EXPECT_EQ(std::memcmp(ga.data(), a.data() + 1000, 500 * 4), 0);
  EXPECT_EQ(std::memcmp(gb.data(), b.data(), b.size() * 4), 0);
  // A flipped byte in the copy fails its chunk's checksum, naming the copy.
  bytes[bytes.size() - 10] ^= 0x40;
  mem["rank_00000.shard"] = ckpt::ShardView::Own(bytes);
  Status st = (*ck)->Read(plan, &mem);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kCorruption);
  EXPECT_NE(st.message().find("(in-memory copy)"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace ogai
