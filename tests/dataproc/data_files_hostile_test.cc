// Crafted files ogai-data reads back (docs/security.md): each case was found by, or written
// after, the ogai-data fuzzers (tests/fuzz/fuzz_data_*.cc) and fails on the code before the fix.
#include <cstdint>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "dataproc/dataset.h"
#include "dataproc/part_file.h"
#include "tests/util/job.h"

namespace ogai::data {
namespace {

using ogai::testing::TempDir;
using ogai::testing::WriteFile;

std::string PartHeader(uint32_t bands, uint32_t sig) {
  std::string h = "OGAIPART";
  h.append(reinterpret_cast<const char*>(&bands), 4);
  h.append(reinterpret_cast<const char*>(&sig), 4);
  return h;
}

template <typename T>
void Put(std::string* s, T v) {
  s->append(reinterpret_cast<const char*>(&v), sizeof v);
}

TEST(PartFileHostile, HugeSignatureInTheHeaderIsRefusedBeforeAllocating) {
  // fuzz_data_manifest: a 191-byte part file whose header claimed a 2^26-entry signature
  // made every record allocate and zero 256 MiB (a timeout, or memory exhausted).
  TempDir t("part_hostile");
  const std::string path = t.path() + "/x.part";
  std::string f = PartHeader(2, 1u << 26);
  Put<uint64_t>(&f, 0x1234);
  Put<uint32_t>(&f, 3);
  f += std::string(64, '\xbf');
  WriteFile(path, f);
  auto r = PartReader::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("signature of 67108864"), std::string::npos) << r.status().ToString();
}

TEST(PartFileHostile, TokenCountBeyondTheFileIsRefused) {
  TempDir t("part_hostile");
  const std::string path = t.path() + "/x.part";
  std::string f = PartHeader(1, 2);
  Put<uint64_t>(&f, 7);           // hash
  Put<uint32_t>(&f, 0xFFFFFFF0);  // tokens: 16 GiB of them
  Put<uint64_t>(&f, 1);           // one band
  Put<uint32_t>(&f, 1);           // signature
  Put<uint32_t>(&f, 2);
  Put<int32_t>(&f, 5);  // one real token
  WriteFile(path, f);
  auto r = PartReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  PartRecord rec;
  auto next = (*r)->Next(&rec, true);
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.status().message().find("4294967280 tokens but only 4 bytes left"), std::string::npos)
      << next.status().ToString();
}

TEST(PartFileHostile, AGoodFileStillReads) {
  TempDir t("part_hostile");
  const std::string path = t.path() + "/x.part";
  {
    auto w = PartWriter::Create(path, 2, 4);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    PartRecord r;
    r.hash = 9;
    r.bands = {1, 2};
    r.sig = {1, 2, 3, 4};
    r.tokens = {10, 11, 12};
    ASSERT_TRUE((*w)->Add(r).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto r = PartReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  PartRecord rec;
  ASSERT_TRUE((*r)->Next(&rec, true).value());
  EXPECT_EQ(rec.tokens, (std::vector<int32_t>{10, 11, 12}));
  EXPECT_FALSE((*r)->Next(&rec, true).value());
}

// A dataset folder with two tiny shards and the given manifest.
std::string Dataset(const TempDir& t, const std::string& manifest) {
  WriteFile(t.path() + "/train-00000.bin", std::string(64, '\0'));
  WriteFile(t.path() + "/val-00000.bin", std::string(64, '\0'));
  WriteFile(t.path() + "/manifest.json", manifest);
  return t.path();
}

std::string Manifest(const std::string& vocab, const std::string& train_file, const std::string& tokens) {
  return R"({"format":"ogai-dataset","tokenizer":{"kind":"byte","vocab_size":)" + vocab +
         R"(,"eot":256},"splits":{"train":{"shards":[{"file":")" + train_file + R"(","tokens":)" + tokens +
         R"(}]},"val":{"shards":[{"file":"val-00000.bin","tokens":16}]}}})";
}

TEST(ManifestHostile, AGoodManifestOpens) {
  TempDir t("manifest_hostile");
  auto d = OpenDataset(Dataset(t, Manifest("257", "train-00000.bin", "16")));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->vocab, 257);
  EXPECT_EQ(d->train_tokens, 16);
}

TEST(ManifestHostile, AVocabularyOutOfRangeIsRefused) {
  // Was converted to int with undefined behaviour (UBSan: "1e+30 is outside the range of
  // representable values of type 'int'").
  TempDir t("manifest_hostile");
  for (const char* v : {"1e30", "-5", "0", "16777217", "\"257\""}) {
    auto d = OpenDataset(Dataset(t, Manifest(v, "train-00000.bin", "16")));
    ASSERT_FALSE(d.ok()) << v;
    EXPECT_NE(d.status().message().find("tokenizer.vocab_size"), std::string::npos) << d.status().ToString();
  }
}

TEST(ManifestHostile, AShardOutsideTheFolderIsRefused) {
  // Was opened as given: a manifest could point training at any file the user can read.
  TempDir t("manifest_hostile");
  for (const char* f :
       {"../outside-00000.bin", "/etc/hostname", "train-00000.bin/..", "train-1.bin", "val-00000.bin"}) {
    auto d = OpenDataset(Dataset(t, Manifest("257", f, "16")));
    ASSERT_FALSE(d.ok()) << f;
    EXPECT_NE(d.status().message().find("not a name ogai-data writes"), std::string::npos) << d.status().ToString();
  }
}

TEST(ManifestHostile, TokenCountsThatOverflowAreRefused) {
  TempDir t("manifest_hostile");
  std::string m = Manifest("257", "train-00000.bin", "4611686018427387904");  // 2^62 + the val split's 16 is fine
  ASSERT_TRUE(OpenDataset(Dataset(t, m)).ok());
  m = R"({"format":"ogai-dataset","tokenizer":{"kind":"byte","vocab_size":257,"eot":256},"splits":{"train":{"shards":[)"
      R"({"file":"train-00000.bin","tokens":9223372036854775807},{"file":"train-00001.bin","tokens":9223372036854775807}]},)"
      R"("val":{"shards":[]}}})";
  WriteFile(t.path() + "/train-00001.bin", "");
  auto d = OpenDataset(Dataset(t, m));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("would exceed 2^62 tokens"), std::string::npos) << d.status().ToString();
  d = OpenDataset(Dataset(t, Manifest("257", "train-00000.bin", "-1")));
  EXPECT_FALSE(d.ok());
}

}  // namespace
}  // namespace ogai::data
