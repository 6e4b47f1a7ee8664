#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "core/rng.h"
#include "dataproc/byte_tokenizer.h"
#include "dataproc/demo_corpus.h"
#include "dataproc/loader.h"
#include "dataproc/shard.h"
#include "tests/util/job.h"

namespace ogai::data {
namespace {

namespace fs = std::filesystem;

using ogai::testing::TempDir;

TEST(Shard, RoundTripUint16AndUint32) {
  TempDir d;
  std::vector<int32_t> small = {0, 1, 65535, 42};
  ASSERT_TRUE(WriteTokenShard(d / "a.bin", small, 65536).ok());
  auto s = TokenShard::Open(d / "a.bin");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->dtype(), TokenDType::kUInt16);
  EXPECT_EQ((*s)->size(), 4);
  std::vector<int32_t> got(4);
  (*s)->Read(0, 4, got.data());
  EXPECT_EQ(got, small);
  EXPECT_EQ(fs::file_size(d / "a.bin"), 64u + 8u);

  std::vector<int32_t> big = {70000, 3};
  ASSERT_TRUE(WriteTokenShard(d / "b.bin", big, 100000).ok());
  auto b = TokenShard::Open(d / "b.bin");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->dtype(), TokenDType::kUInt32);
  (*b)->Read(0, 2, got.data());
  EXPECT_EQ(got[0], 70000);
}

TEST(Shard, BadFilesFailLoudlyWithAHint) {
  TempDir d;
  auto missing = TokenShard::Open(d / "nope.bin");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("data.paths"), std::string::npos);

  std::ofstream(d / "text.bin") << "hello, this is not a shard at all, it is text........................";
  auto notshard = TokenShard::Open(d / "text.bin");
  ASSERT_FALSE(notshard.ok());
  EXPECT_NE(notshard.status().message().find("not an ogai token shard"), std::string::npos);

  std::vector<int32_t> toks(100, 7);
  ASSERT_TRUE(WriteTokenShard(d / "t.bin", toks, 256).ok());
  fs::resize_file(d / "t.bin", 64 + 150);
  auto trunc = TokenShard::Open(d / "t.bin");
  ASSERT_FALSE(trunc.ok());
  EXPECT_EQ(trunc.status().code(), Code::kCorruption);
  EXPECT_NE(trunc.status().message().find("header says 100 tokens"), std::string::npos) << trunc.status().message();

  ASSERT_TRUE(WriteTokenShard(d / "v.bin", toks, 256).ok());
  {
    std::fstream f(d / "v.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    uint32_t v2 = 2;
    f.write(reinterpret_cast<char*>(&v2), 4);
  }
  auto ver = TokenShard::Open(d / "v.bin");
  ASSERT_FALSE(ver.ok());
  EXPECT_NE(ver.status().message().find("checksum"), std::string::npos) << ver.status().message();

  ASSERT_TRUE(WriteTokenShard(d / "w.bin", toks, 50257).ok());
  auto vocab = TokenShard::Open(d / "w.bin", 256);
  ASSERT_FALSE(vocab.ok());
  EXPECT_NE(vocab.status().message().find("raise model.vocab"), std::string::npos);
}

TEST(Crc32c, KnownVector) {
  // RFC 3720 test vector: 32 bytes of zeros.
  std::vector<uint8_t> z(32, 0);
  EXPECT_EQ(Crc32c(z.data(), z.size()), 0x8A9136AAu);
  const char* s = "123456789";
  EXPECT_EQ(Crc32c(s, 9), 0xE3069283u);
}

TEST(Rng, PermutationIsABijection) {
  for (uint64_t n : {1ull, 2ull, 3ull, 17ull, 1000ull, 4097ull}) {
    std::set<uint64_t> seen;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t p = PermuteIndex(i, n, 99);
      ASSERT_LT(p, n);
      seen.insert(p);
    }
    EXPECT_EQ(seen.size(), n);
  }
  // Different keys give different orders.
  int same = 0;
  for (uint64_t i = 0; i < 1000; ++i) same += PermuteIndex(i, 1000, 1) == PermuteIndex(i, 1000, 2);
  EXPECT_LT(same, 50);
}

TEST(Rng, HashedNormalLooksNormal) {
  double s = 0, s2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double x = HashedNormal(7, 3, i);
    s += x;
    s2 += x * x;
  }
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n, 1.0, 0.01);
  EXPECT_EQ(HashedNormal(7, 3, 12345), HashedNormal(7, 3, 12345));
}

TEST(DemoCorpus, DeterministicAndSized) {
  std::string a = GenerateDemoCorpus(5000, 1), b = GenerateDemoCorpus(5000, 1), c = GenerateDemoCorpus(5000, 2);
  EXPECT_EQ(a.size(), 5000u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a.find(" = "), std::string::npos);
  EXPECT_EQ(ByteDecode(ByteEncode(a)), a);
}

TEST(Loader, WindowsTargetsAndDeterminism) {
  std::vector<int32_t> toks(1001);
  for (int i = 0; i < 1001; ++i) toks[i] = i % 256;
  auto src = TokenSource::FromTokens(toks);
  auto dl = DataLoader::Create(src, 10, 5);
  ASSERT_TRUE(dl.ok());
  EXPECT_EQ((*dl)->num_windows(), 100);
  std::vector<int32_t> in(30), tg(30), in2(30), tg2(30);
  (*dl)->GetSamples(0, 3, in.data(), tg.data());
  (*dl)->GetSamples(0, 3, in2.data(), tg2.data());
  EXPECT_EQ(in, in2);
  for (int s = 0; s < 3; ++s)
    for (int t = 0; t < 10; ++t) {
      EXPECT_EQ(tg[s * 10 + t], (in[s * 10 + t] + 1) % 256);
      EXPECT_EQ(in[s * 10 + t] % 10, t % 10 == 0 ? in[s * 10] % 10 : (in[s * 10] + t) % 10);
    }
  // One epoch visits every window once; the next epoch uses another order.
  std::set<int64_t> epoch0;
  int same = 0;
  for (int g = 0; g < 100; ++g) {
    epoch0.insert((*dl)->WindowOf(g));
    same += (*dl)->WindowOf(g) == (*dl)->WindowOf(g + 100);
  }
  EXPECT_EQ(epoch0.size(), 100u);
  EXPECT_LT(same, 20);
  // Any split of a range of samples reads the same tokens as the whole range.
  std::vector<int32_t> whole(40), whole_t(40), parts(40), parts_t(40);
  (*dl)->GetSamples(50, 4, whole.data(), whole_t.data());
  (*dl)->GetSamples(50, 1, parts.data(), parts_t.data());
  (*dl)->GetSamples(51, 3, parts.data() + 10, parts_t.data() + 10);
  EXPECT_EQ(whole, parts);
}

TEST(Loader, ShardsDoNotShareWindowsAndTooLittleDataIsAnError) {
  TempDir d;
  std::vector<int32_t> a(25, 1), b(12, 2);
  ASSERT_TRUE(WriteTokenShard(d / "a.bin", a, 256).ok());
  ASSERT_TRUE(WriteTokenShard(d / "b.bin", b, 256).ok());
  auto src = TokenSource::FromShards({d / "a.bin", d / "b.bin"}, 256);
  ASSERT_TRUE(src.ok());
  auto dl = DataLoader::Create(*src, 8, 1);
  ASSERT_TRUE(dl.ok());
  EXPECT_EQ((*dl)->num_windows(), 3 + 1);
  std::vector<int32_t> in(8), tg(8);
  for (int g = 0; g < 4; ++g) {
    (*dl)->GetSamples(g, 1, in.data(), tg.data());
    std::set<int32_t> vals(in.begin(), in.end());
    vals.insert(tg.begin(), tg.end());
    EXPECT_EQ(vals.size(), 1u) << "window " << g << " crossed a shard boundary";
  }
  auto tiny = DataLoader::Create(TokenSource::FromTokens({1, 2, 3}), 8, 1);
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.status().message().find("lower model.seq_len"), std::string::npos);
}

}  // namespace
}  // namespace ogai::data
