// Crafted checkpoints (issue 12): manifests whose CRC was recomputed, so they pass the
// damage checks, with numbers chosen to make the reader allocate or read what it must not.
// Each is refused with a clear error before anything large is allocated.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>

#include "ckpt/export.h"
#include "ckpt/format.h"
#include "ckpt/reader.h"
#include "ckpt/writer.h"
#include "core/memory.h"
#include "tests/ckpt/one_rank_meta.h"
#include "tests/ckpt/test_util.h"

namespace ogai::ckpt {
namespace {

namespace fs = std::filesystem;
using testing::OneRankMeta;
using testing::TempDir;

// One tensor of 64 x 64 floats, saved at step 5; returns the step folder.
std::string SaveOne(const TempDir& d, std::vector<float>* data) {
  data->resize(64 * 64);
  for (size_t i = 0; i < data->size(); ++i) (*data)[i] = static_cast<float>(i) * 0.5f;
  WriterOptions wo;
  wo.dir = d.path();
  wo.async = false;
  wo.chunk_bytes = 4096;
  auto w = CheckpointWriter::Create(wo);
  EXPECT_TRUE(w.ok());
  EXPECT_TRUE((*w)->Save({{"w", {64, 64}, Region::Whole({64, 64}), data->data()}}, OneRankMeta(5, 8)).ok());
  return d / "step_00000005";
}

// Rewrites the manifest with `edit` applied and its CRC recomputed (WriteManifest).
void Craft(const std::string& step_dir, const std::function<void(pb::Manifest&)>& edit) {
  auto m = ReadManifest(step_dir);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  edit(*m);
  ASSERT_TRUE(WriteManifest(step_dir, *m).ok());
}

Status OpenAndRead(const std::string& dir) {
  auto ck = Checkpoint::Open(dir);
  if (!ck.ok()) return ck.status();
  std::vector<float> buf(64 * 64);
  return (*ck)->Read({{"w", {64, 64}, Region::Whole({64, 64}), buf.data()}});
}

TEST(Crafted, HugeChunkSizesAreRefused) {
  for (uint64_t chunk : {uint64_t{1} << 40, uint64_t{3} << 30}) {
    TempDir d;
    std::vector<float> data;
    const std::string dir = SaveOne(d, &data);
    Craft(dir, [&](pb::Manifest& m) {
      auto* p = m.mutable_tensors(0)->mutable_pieces(0);
      p->set_chunk_bytes(chunk);
      p->clear_chunk_crc32c();
      p->add_chunk_crc32c(0);
    });
    const int64_t before = ResidentBytes();
    Status st = OpenAndRead(dir);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Code::kCorruption) << st.ToString();
    EXPECT_NE(st.message().find("chunk size"), std::string::npos) << st.ToString();
    EXPECT_LT(ResidentBytes() - before, int64_t{64} << 20);
  }
}

// A 1 GiB chunk (allowed) in a small file whose manifest claims 3 GiB: verify and read do
// not allocate the chunk before noticing the file is not that big.
TEST(Crafted, ClaimedSizesAreCheckedAgainstTheRealFileFirst) {
  TempDir d;
  std::vector<float> data;
  const std::string dir = SaveOne(d, &data);
  Craft(dir, [&](pb::Manifest& m) {
    m.mutable_files(0)->set_bytes(uint64_t{3} << 30);
    auto* p = m.mutable_tensors(0)->mutable_pieces(0);
    p->set_chunk_bytes(uint64_t{1} << 30);
    p->set_byte_length(64 * 64 * 4);
    p->clear_chunk_crc32c();
    p->add_chunk_crc32c(0);
  });
  const int64_t before = ResidentBytes();
  auto ck = Checkpoint::Open(dir);
  ASSERT_TRUE(ck.ok()) << ck.status().ToString();
  auto faults = (*ck)->Verify();
  EXPECT_FALSE(faults.empty());
  std::vector<float> buf(64 * 64);
  Status st = (*ck)->Read({{"w", {64, 64}, Region::Whole({64, 64}), buf.data()}});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("is truncated"), std::string::npos) << st.ToString();
  TempDir out;
  EXPECT_FALSE(ExportSafetensors(**ck, out / "x.safetensors").ok());
  EXPECT_LT(ResidentBytes() - before, int64_t{256} << 20) << "allocated what the manifest claimed";
}

// offset + length wrapped past 2^64 and passed the in-memory bounds check; the read segfaulted.
TEST(Crafted, OffsetsThatWrapAreRefused) {
  TempDir d;
  std::vector<float> data;
  const std::string dir = SaveOne(d, &data);
  Craft(dir, [&](pb::Manifest& m) { m.mutable_tensors(0)->mutable_pieces(0)->set_byte_offset(~uint64_t{0} - 63); });
  auto ck = Checkpoint::Open(dir);
  ASSERT_FALSE(ck.ok());
  EXPECT_NE(ck.status().message().find("lies outside its file"), std::string::npos) << ck.status().ToString();
  // (Open checks every piece, so neither the file path nor the in-memory peer-copy path,
  // whose bounds check no longer adds offset + length, ever sees it.)
}

// Found by fuzz_ckpt (tests/fuzz/corpus/ckpt/regression-region-dims): a piece whose
// box_begin and box_extent differ in length made the error message read past the shorter
// (heap-buffer-overflow); huge begins overflowed begin + extent.
TEST(Crafted, PieceBoxesOfMismatchedRankOrHugeBeginsAreRefused) {
  TempDir d;
  std::vector<float> data;
  const std::string dir = SaveOne(d, &data);
  Craft(dir, [&](pb::Manifest& m) { m.mutable_tensors(0)->mutable_pieces(0)->add_box_begin(0); });
  auto ck = Checkpoint::Open(dir);
  ASSERT_FALSE(ck.ok());
  EXPECT_EQ(ck.status().code(), Code::kCorruption) << ck.status().ToString();
  Craft(dir, [&](pb::Manifest& m) {
    auto* p = m.mutable_tensors(0)->mutable_pieces(0);
    p->clear_box_begin();
    p->add_box_begin(INT64_MAX);
    p->add_box_begin(0);
  });
  ck = Checkpoint::Open(dir);
  ASSERT_FALSE(ck.ok());
  EXPECT_NE(ck.status().message().find("does not fit dimension 0"), std::string::npos) << ck.status().ToString();
}

// Found by fuzz_ckpt (tests/fuzz/corpus/ckpt/regression-shape-overflow): a tensor without
// pieces whose shape's product overflows int64 (Verify multiplied it out).
TEST(Crafted, ShapesThatOverflowAreRefusedEvenWithoutPieces) {
  TempDir d;
  std::vector<float> data;
  const std::string dir = SaveOne(d, &data);
  Craft(dir, [&](pb::Manifest& m) {
    auto* t = m.add_tensors();
    t->set_name("empty");
    t->add_shape(359158800);
    t->add_shape(30870077325);
  });
  auto ck = Checkpoint::Open(dir);
  ASSERT_FALSE(ck.ok());
  EXPECT_NE(ck.status().message().find("impossible shape"), std::string::npos) << ck.status().ToString();
}

TEST(Crafted, OnlyWriterMadeShardFileNamesAreOpened) {
  for (const char* name :
       {"../../../../etc/hostname", "/etc/passwd", "rank_00000.shard/../x", "rank_0.shard", "rank_00000.shardx", ""}) {
    TempDir d;
    std::vector<float> data;
    const std::string dir = SaveOne(d, &data);
    Craft(dir, [&](pb::Manifest& m) { m.mutable_files(0)->set_name(name); });
    auto ck = Checkpoint::Open(dir);
    ASSERT_FALSE(ck.ok()) << name;
    EXPECT_NE(ck.status().message().find("which no writer makes"), std::string::npos) << ck.status().ToString();
  }
  EXPECT_TRUE(IsShardFileName(ShardFileName(0)));
  EXPECT_TRUE(IsShardFileName(ShardFileName(123456)));
}

// ogai-ckpt export wrote a predictable OUT.tmp: a link planted there was followed.
TEST(Crafted, ExportDoesNotFollowALinkAtAPredictableTempName) {
  TempDir d;
  std::vector<float> data;
  const std::string dir = SaveOne(d, &data);
  TempDir out;
  const std::string victim = out / "victim";
  std::ofstream(victim) << "precious";
  const std::string target = out / "model.safetensors";
  fs::create_symlink(victim, target + ".tmp");
  auto ck = Checkpoint::Open(dir);
  ASSERT_TRUE(ck.ok());
  auto n = ExportSafetensors(**ck, target);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(testing::ReadText(victim), "precious");
  EXPECT_GT(testing::FileSize(target), 64 * 64 * 4);
}

}  // namespace
}  // namespace ogai::ckpt
