// The checkpoint library on its own: the format, the writer's commit protocol and
// retention, the reader's checks, and resharding between layouts with synthetic multi-rank
// saves (ranks are threads; the store-based committer comes later). Region geometry is
// region_test.cc.
#include <stdlib.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "ckpt/committer.h"
#include "ckpt/direct_file.h"
#include "ckpt/format.h"
#include "ckpt/reader.h"
#include "ckpt/region.h"
#include "ckpt/writer.h"
#include "core/crc32c.h"
#include "tests/ckpt/region_elements.h"
#include "tests/ckpt/test_util.h"

namespace ogai::ckpt {
namespace {

namespace fs = std::filesystem;
using testing::Elements;
using testing::TempDir;

// ---- format --------------------------------------------------------------------------

TEST(Format, NamesAndShardHeader) {
  EXPECT_EQ(StepDirName(100), "step_00000100");
  EXPECT_EQ(ParseStepDirName("/x/step_00000100/"), 100);
  EXPECT_EQ(ParseStepDirName("step_12x"), -1);
  EXPECT_EQ(ShardFileName(3), "rank_00003.shard");
  uint8_t h[kShardHeaderBytes];
  EncodeShardHeader({5, 1234}, h);
  ShardHeader got;
  ASSERT_TRUE(DecodeShardHeader(h, sizeof(h), "f", &got).ok());
  EXPECT_EQ(got.rank, 5);
  EXPECT_EQ(got.step, 1234);
  h[17] ^= 1;
  Status st = DecodeShardHeader(h, sizeof(h), "f", &got);
  EXPECT_EQ(st.code(), Code::kCorruption);
  EncodeShardHeader({5, 1234}, h);
  h[8] = 9;  // a future version
  h[24] = 0;
  st = DecodeShardHeader(h, sizeof(h), "f", &got);
  EXPECT_EQ(st.code(), Code::kNotSupported);
  EXPECT_NE(st.message().find("newer"), std::string::npos);
}

TEST(Format, ManifestRoundTripAndDamage) {
  TempDir d;
  pb::Manifest m;
  m.set_format_version(kFormatVersion);
  m.set_step(7);
  m.set_config_yaml("model:\n  layers: 2\n");
  ASSERT_TRUE(WriteManifest(d.path(), m).ok());
  auto back = ReadManifest(d.path());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->step(), 7);
  EXPECT_EQ(back->config_yaml(), m.config_yaml());
  EXPECT_FALSE(fs::exists(d / "manifest.pb.tmp"));
  testing::FlipByte(d / "manifest.pb", testing::FileSize(d / "manifest.pb") - 8);
  auto bad = ReadManifest(d.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kCorruption);
  EXPECT_NE(bad.status().message().find("manifest.pb"), std::string::npos);
  // No manifest: not committed.
  fs::remove(d / "manifest.pb");
  EXPECT_EQ(ReadManifest(d.path()).status().code(), Code::kNotFound);
}

// ---- writer and reader -----------------------------------------------------------------

float Val(const std::string& name, int64_t g, int salt) {
  uint32_t h = Crc32c(name.data(), name.size(), static_cast<uint32_t>(salt));
  h = Crc32c(&g, sizeof(g), h);
  return static_cast<float>(static_cast<int32_t>(h % 20001) - 10000) / 1000.0f;
}

// A synthetic tensor held whole by one writer.
struct Owned {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

Owned MakeTensor(const std::string& name, std::vector<int64_t> shape, int salt) {
  Owned o{name, shape, {}};
  const Region r = Region::Whole(shape);
  for (int64_t g : Elements(r, shape)) o.data.push_back(Val(name, g, salt));
  return o;
}

SaveMeta Meta(int64_t step) {
  SaveMeta m;
  m.step = step;
  m.seed = 42;
  m.global_batch = 8;
  m.layout.set_world_size(1);
  m.layout.set_dp(1);
  m.layout.set_tp(1);
  m.layout.set_pp(1);
  return m;
}

std::vector<ConstSlice> WholeSlices(const std::vector<Owned>& ts) {
  std::vector<ConstSlice> out;
  for (const auto& t : ts) out.push_back({t.name, t.shape, Region::Whole(t.shape), t.data.data()});
  return out;
}

void ExpectReadsBack(const std::string& path, const std::vector<Owned>& ts) {
  auto ck = Checkpoint::Open(path);
  ASSERT_TRUE(ck.ok()) << ck.status().ToString();
  for (const auto& t : ts) {
    std::vector<float> got(t.data.size(), -99.0f);
    ASSERT_TRUE((*ck)->Read({{t.name, t.shape, Region::Whole(t.shape), got.data()}}).ok());
    ASSERT_EQ(std::memcmp(got.data(), t.data.data(), got.size() * 4), 0) << t.name;
  }
}

class WriterModes : public ::testing::TestWithParam<std::tuple<bool, int64_t>> {};

TEST_P(WriterModes, SaveCommitsAndReadsBackBitExact) {
  const auto [async, staging] = GetParam();
  TempDir d;
  std::vector<Owned> ts = {MakeTensor("a", {37, 129}, 1), MakeTensor("b", {5}, 2), MakeTensor("c", {3, 4, 1000}, 3)};
  WriterOptions wo;
  wo.dir = d.path();
  wo.async = async;
  wo.staging_bytes = staging;
  wo.chunk_bytes = 4096;  // many chunks per tensor
  auto w = CheckpointWriter::Create(wo);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Save(WholeSlices(ts), Meta(3)).ok());
  ASSERT_TRUE((*w)->WaitCaptured().ok());
  ASSERT_TRUE((*w)->Wait().ok());
  EXPECT_EQ(*ReadLatest(d.path()), "step_00000003");
  ExpectReadsBack(d.path(), ts);
  auto ck = Checkpoint::Open(d / "step_00000003");
  ASSERT_TRUE(ck.ok());
  EXPECT_TRUE((*ck)->Verify().empty());
  EXPECT_EQ((*ck)->manifest().train().samples_consumed(), 24);
  const auto stats = (*w)->stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].bytes, testing::FileSize(d / "step_00000003/rank_00000.shard"));
}

// Synchronous; async with staging for the whole snapshot; async with an 8 KiB ring (much
// smaller than the 530 KB state: the copy must interleave with the writes).
INSTANTIATE_TEST_SUITE_P(Ckpt, WriterModes,
                         ::testing::Values(std::make_tuple(false, int64_t{0}), std::make_tuple(true, int64_t{0}),
                                           std::make_tuple(true, int64_t{8192})));

// checkpoint.write_mb_per_s: an async save's writes are paced (its write time is at least
// bytes / rate: a bound a slow machine only makes longer), until someone Wait()s for it.
TEST(WriterPace, AsyncWritesArePacedUntilSomeoneWaits) {
  std::vector<Owned> ts = {MakeTensor("a", {512, 1024}, 1)};  // 2 MiB
  for (const bool wait_at_once : {false, true}) {
    TempDir d;
    WriterOptions wo;
    wo.dir = d.path();
    wo.max_write_bytes_per_s = 4e6;  // 2 MiB: at least 0.52 s
    auto w = CheckpointWriter::Create(wo);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Save(WholeSlices(ts), Meta(1)).ok());
    ASSERT_TRUE((*w)->WaitCaptured().ok());
    if (!wait_at_once) {
      while ((*w)->busy()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE((*w)->Wait().ok());
    const auto stats = (*w)->stats();
    ASSERT_EQ(stats.size(), 1u);
    const double floor_s = static_cast<double>(stats[0].bytes) / wo.max_write_bytes_per_s;
    if (wait_at_once) {
      EXPECT_LT(stats[0].write_s, 0.5 * floor_s) << "Wait() did not end the pacing";
    } else {
      EXPECT_GE(stats[0].write_s, 0.95 * floor_s) << "not paced";
    }
    ExpectReadsBack(d.path(), ts);
  }
}

// O_DIRECT (ckpt/direct_file.h) changes how the bytes reach the disk, never which: in every
// writer mode the shard file and the manifest's chunk checksums equal a buffered save's. On
// a file system that takes O_DIRECT every whole 4 KiB block goes out direct (the chunks here
// are 4 KiB, so the tensors' ends fall mid-block); one that refuses it is written buffered.
bool TakesODirect(const std::string& dir) {
  const std::string p = dir + "/probe";
  DirectFile f;
  if (!f.Open(p, true).ok() || !f.direct()) return false;
  std::vector<uint8_t> block(2 * DirectFile::kAlign);
  uint8_t* aligned =
      block.data() +
      (DirectFile::kAlign - reinterpret_cast<uintptr_t>(block.data()) % DirectFile::kAlign) % DirectFile::kAlign;
  const bool ok = f.Append(aligned, DirectFile::kAlign).ok() && f.direct_bytes() == DirectFile::kAlign;
  (void)f.Close();
  fs::remove(p);
  return ok;
}

TEST_P(WriterModes, DirectIoWritesTheBytesOfABufferedSave) {
  const auto [async, staging] = GetParam();
  std::vector<Owned> ts = {MakeTensor("a", {37, 129}, 1), MakeTensor("b", {5}, 2), MakeTensor("c", {3, 4, 1000}, 3)};
  TempDir local;
  std::vector<std::string> roots = {local.path()};
  char shm[] = "/dev/shm/ogai_test.XXXXXX";  // tmpfs: O_DIRECT (Linux >= 6.6) or the fallback
  if (fs::is_directory("/dev/shm") && ::mkdtemp(shm) != nullptr) roots.push_back(shm);
  struct RemoveShm {
    std::vector<std::string>& roots;
    ~RemoveShm() {
      std::error_code ec;
      if (roots.size() > 1) fs::remove_all(roots[1], ec);
    }
  } remove_shm{roots};
  for (const std::string& root : roots) {
    const std::string d_direct = root + "/direct", d_buffered = root + "/buffered";
    std::map<bool, SaveStats> stats;
    for (bool direct : {true, false}) {
      WriterOptions wo;
      wo.dir = direct ? d_direct : d_buffered;
      wo.async = async;
      wo.staging_bytes = staging;
      wo.chunk_bytes = 4096;
      wo.direct_io = direct;
      wo.low_priority = direct;  // the async write half on ckpt/low_priority_thread.h
      auto w = CheckpointWriter::Create(wo);
      ASSERT_TRUE(w.ok());
      ASSERT_TRUE((*w)->Save(WholeSlices(ts), Meta(3)).ok());
      ASSERT_TRUE((*w)->Wait().ok());
      stats[direct] = (*w)->stats().back();
    }
    const std::string shard = "step_00000003/rank_00000.shard";
    const std::string a = ogai::testing::ReadText(d_direct + "/" + shard),
                      b = ogai::testing::ReadText(d_buffered + "/" + shard);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_TRUE(a == b) << root;
    auto ca = Checkpoint::Open(d_direct + "/step_00000003"), cb = Checkpoint::Open(d_buffered + "/step_00000003");
    ASSERT_TRUE(ca.ok() && cb.ok());
    ASSERT_EQ((*ca)->manifest().tensors_size(), (*cb)->manifest().tensors_size());
    for (int i = 0; i < (*ca)->manifest().tensors_size(); ++i) {
      EXPECT_EQ((*ca)->manifest().tensors(i).SerializeAsString(), (*cb)->manifest().tensors(i).SerializeAsString());
    }
    EXPECT_TRUE((*ca)->Verify().empty());
    ExpectReadsBack(d_direct, ts);
    EXPECT_EQ(stats[false].direct_bytes, 0);
    const int64_t whole_blocks = static_cast<int64_t>(a.size() / DirectFile::kAlign * DirectFile::kAlign);
    EXPECT_EQ(stats[true].direct_bytes, TakesODirect(d_direct) ? whole_blocks : 0) << root;
  }
}

TEST(DirectFile, UnalignedAppendsFallBackToBufferedWithTheSameBytes) {
  TempDir d;
  std::vector<uint8_t> buf(5 * DirectFile::kAlign);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 7 + 3);
  uint8_t* p = buf.data() +
               (DirectFile::kAlign - reinterpret_cast<uintptr_t>(buf.data()) % DirectFile::kAlign) % DirectFile::kAlign;
  const std::string path = d / "f";
  DirectFile f;
  ASSERT_TRUE(f.Open(path, true).ok());
  const bool direct = f.direct();
  ASSERT_TRUE(f.Append(p, DirectFile::kAlign).ok());  // aligned: direct where the file system allows
  EXPECT_EQ(f.direct_bytes(), direct ? DirectFile::kAlign : 0u);
  ASSERT_TRUE(f.Append(p + DirectFile::kAlign, 100).ok());  // a short length: buffered from here on
  EXPECT_FALSE(f.direct());
  ASSERT_TRUE(f.Append(p + DirectFile::kAlign + 100, 2 * DirectFile::kAlign).ok());
  ASSERT_TRUE(f.Sync().ok());
  ASSERT_TRUE(f.Close().ok());
  const std::string got = ogai::testing::ReadText(path);
  ASSERT_EQ(got.size(), 3 * DirectFile::kAlign + 100);
  EXPECT_EQ(std::memcmp(got.data(), p, got.size()), 0);
}

// A folder that cannot be made names the key to change, not only the path.
TEST(Writer, AFolderThatCannotBeMadeNamesCheckpointDir) {
  TempDir d;
  WriterOptions wo;
  wo.dir = d / "file/sub";
  ogai::testing::WriteFile(d / "file", "not a folder");
  auto w = CheckpointWriter::Create(wo);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("checkpoint.dir " + wo.dir + " (set it to a writable folder)"), std::string::npos)
      << w.status().message();
}

TEST(Writer, SaveWhileBusyWaitsAndEveryStepCommits) {
  TempDir d;
  std::vector<Owned> ts = {MakeTensor("w", {256, 256}, 1)};
  WriterOptions wo;
  wo.dir = d.path();
  wo.keep_last = 10;
  auto w = CheckpointWriter::Create(wo);
  ASSERT_TRUE(w.ok());
  for (int s = 1; s <= 5; ++s) ASSERT_TRUE((*w)->Save(WholeSlices(ts), Meta(s)).ok());  // no Wait between
  ASSERT_TRUE((*w)->Wait().ok());
  auto list = ListCheckpoints(d.path());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 5u);
  for (const auto& e : *list) EXPECT_TRUE(e.committed) << e.path;
  EXPECT_EQ(*ReadLatest(d.path()), "step_00000005");
}

TEST(Writer, RetentionKeepsTheNewestAndLeavesAbandonedLaterRunsAlone) {
  TempDir d;
  std::vector<Owned> ts = {MakeTensor("w", {8, 8}, 1)};
  WriterOptions wo;
  wo.dir = d.path();
  wo.keep_last = 2;
  wo.async = false;
  {
    auto w = CheckpointWriter::Create(wo);
    for (int s : {10, 20, 30, 40}) ASSERT_TRUE((*w)->Save(WholeSlices(ts), Meta(s)).ok());
  }
  auto list = ListCheckpoints(d.path());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].step, 30);
  EXPECT_EQ((*list)[1].step, 40);
  // An unfinished save (a crash) at step 45, and a run resumed from step 30 saving 35.
  fs::create_directories(d / "step_00000045");
  fs::create_directories(d / "step_00000033");  // unfinished, older than the next commit
  auto w = CheckpointWriter::Create(wo);
  ASSERT_TRUE((*w)->Save(WholeSlices(ts), Meta(35)).ok());
  list = ListCheckpoints(d.path());
  std::vector<int64_t> steps;
  for (const auto& e : *list) steps.push_back(e.step);
  // 30 kept (keep_last 2 counts 35 and 30), 33 removed (unfinished, older), 40 and 45 left alone.
  EXPECT_EQ(steps, (std::vector<int64_t>{30, 35, 40, 45}));
  EXPECT_EQ(*ReadLatest(d.path()), "step_00000035");
  auto cand = ResumeCandidates(d.path());
  ASSERT_TRUE(cand.ok());
  ASSERT_EQ(cand->size(), 2u);  // latest first, then older committed; never the abandoned 40
  EXPECT_EQ((*cand)[0], d / "step_00000035");
  EXPECT_EQ((*cand)[1], d / "step_00000030");
}

TEST(Writer, IncompleteCoverageIsNotCommittedAndTheOldCheckpointStays) {
  TempDir d;
  std::vector<Owned> ts = {MakeTensor("w", {8, 8}, 1)};
  WriterOptions wo;
  wo.dir = d.path();
  wo.async = false;
  auto w = CheckpointWriter::Create(wo);
  ASSERT_TRUE((*w)->Save(WholeSlices(ts), Meta(1)).ok());
  auto half = WholeSlices(ts);
  half[0].region = half[0].region.Sub(0, 32);  // a write plan with a gap
  Status st = (*w)->Save(half, Meta(2));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("32 of its 64"), std::string::npos) << st.ToString();
  EXPECT_EQ(*ReadLatest(d.path()), "step_00000001");
  EXPECT_FALSE(fs::exists(d / "step_00000002/manifest.pb"));
  ExpectReadsBack(d.path(), ts);
}

TEST(Reader, CorruptAndTruncatedShardsAreNamedWithTensorAndOffset) {
  TempDir d;
  std::vector<Owned> ts = {MakeTensor("first", {64, 64}, 1), MakeTensor("second", {64, 64}, 2)};
  WriterOptions wo;
  wo.dir = d.path();
  wo.async = false;
  wo.chunk_bytes = 4096;
  auto w = CheckpointWriter::Create(wo);
  ASSERT_TRUE((*w)->Save(WholeSlices(ts), Meta(9)).ok());
  const std::string shard = d / "step_00000009/rank_00000.shard";
  // "second" starts after the header and the 16 KiB of "first"; flip a byte in its 2nd chunk.
  const int64_t off = 64 + 16384 + 4096 + 100;
  testing::FlipByte(shard, off);
  auto ck = Checkpoint::Open(d.path());
  ASSERT_TRUE(ck.ok());
  std::vector<float> buf(64 * 64);
  // Reading only "first" is fine: what is read is checked, and that is intact.
  EXPECT_TRUE((*ck)->Read({{"first", {64, 64}, Region::Whole({64, 64}), buf.data()}}).ok());
  Status st = (*ck)->Read({{"second", {64, 64}, Region::Whole({64, 64}), buf.data()}});
  ASSERT_EQ(st.code(), Code::kCorruption);
  EXPECT_NE(st.message().find("rank_00000.shard"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'second'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("byte offset " + std::to_string(64 + 16384 + 4096)), std::string::npos) << st.message();
  auto faults = (*ck)->Verify();
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].tensor, "second");
  EXPECT_EQ(faults[0].offset, static_cast<uint64_t>(64 + 16384 + 4096));
  testing::FlipByte(shard, off);  // repaired
  EXPECT_TRUE((*ck)->Verify().empty());

  testing::TruncateFile(shard, 64 + 16384 + 1000);
  st = (*ck)->Read({{"second", {64, 64}, Region::Whole({64, 64}), buf.data()}});
  ASSERT_EQ(st.code(), Code::kCorruption);
  EXPECT_NE(st.message().find("truncated"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'second'"), std::string::npos) << st.message();
  faults = (*ck)->Verify();
  ASSERT_GE(faults.size(), 2u);  // the file size, and every chunk of "second" past the end
  EXPECT_NE(faults[0].what.find("truncated"), std::string::npos);
}

TEST(Reader, WrongShapeOrMissingTensorSaysSo) {
  TempDir d;
  std::vector<Owned> ts = {MakeTensor("w", {8, 8}, 1)};
  WriterOptions wo;
  wo.dir = d.path();
  wo.async = false;
  auto w = CheckpointWriter::Create(wo);
  ASSERT_TRUE((*w)->Save(WholeSlices(ts), Meta(1)).ok());
  auto ck = Checkpoint::Open(d.path());
  std::vector<float> buf(128);
  Status st = (*ck)->Read({{"w", {8, 16}, Region::Whole({8, 16}), buf.data()}});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("[8, 8]"), std::string::npos);
  st = (*ck)->Read({{"nope", {8, 8}, Region::Whole({8, 8}), buf.data()}});
  EXPECT_EQ(st.code(), Code::kNotFound);
  auto missing = Checkpoint::Open(d / "nowhere");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

// ---- resharding with synthetic multi-rank saves ------------------------------------------

// Rank r of a layout holds, of every tensor, a TP slice along `dim` (or all of it when the
// tensor is replicated); over DP the data is split by flat range (each rank writes a part).
struct SyntheticLayout {
  int tp = 1;
  int dp = 1;
};

struct TensorDef {
  std::string name;
  std::vector<int64_t> shape;
  int dim;  // TP split dimension, -1 replicated
};

const std::vector<TensorDef> kTensors = {
    {"emb", {64, 24}, 0}, {"col", {48, 24}, 0}, {"row", {24, 48}, 1},
    {"bias", {48}, 0},    {"norm", {24}, -1},   {"cube", {4, 8, 6}, 1},
};

Region TpRegion(const TensorDef& t, int tp_rank, int tp) {
  std::vector<int64_t> b(t.shape.size(), 0), e = t.shape;
  if (t.dim >= 0) {
    e[t.dim] = t.shape[t.dim] / tp;
    b[t.dim] = e[t.dim] * tp_rank;
  }
  return Region::Box(b, e);
}

// The values a region of a tensor must hold.
std::vector<float> Expected(const TensorDef& t, const Region& r) {
  std::vector<float> v;
  for (int64_t g : Elements(r, t.shape)) v.push_back(Val(t.name, g, 5));
  return v;
}

void SaveSynthetic(const std::string& dir, const SyntheticLayout& L, int64_t step) {
  const int world = L.tp * L.dp;
  auto group = std::make_shared<ThreadGroupCommitter::Group>(world, std::chrono::milliseconds(30000));
  std::vector<std::thread> threads;
  std::vector<Status> results(world);
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      const int tp_rank = rank % L.tp, dp_rank = rank / L.tp;
      ThreadGroupCommitter committer(group, rank);
      std::vector<std::vector<float>> store;
      std::vector<ConstSlice> slices;
      store.reserve(kTensors.size());
      for (const auto& t : kTensors) {
        if (t.dim < 0 && tp_rank != 0) continue;
        Region r = TpRegion(t, tp_rank, L.tp);
        const int64_t n = r.numel();
        r = r.Sub(n * dp_rank / L.dp, n * (dp_rank + 1) / L.dp);
        store.push_back(Expected(t, r));
        slices.push_back({t.name, t.shape, r, store.back().data()});
      }
      WriterOptions wo;
      wo.dir = dir;
      wo.committer = &committer;
      wo.chunk_bytes = 4096;
      auto w = CheckpointWriter::Create(wo);
      if (!w.ok()) {
        results[rank] = w.status();
        return;
      }
      SaveMeta meta = Meta(step);
      meta.layout.set_world_size(world);
      meta.layout.set_tp(L.tp);
      meta.layout.set_dp(L.dp);
      results[rank] = (*w)->Save(slices, meta);
      if (results[rank].ok()) results[rank] = (*w)->Wait();
    });
  }
  for (auto& th : threads) th.join();
  for (int r = 0; r < world; ++r) ASSERT_TRUE(results[r].ok()) << "rank " << r << ": " << results[r].ToString();
}

// Reads as every rank of `L` would (TP slice; a flat-range part, as ZeRO-1 holds) and checks.
void CheckLoad(const std::string& dir, const SyntheticLayout& L) {
  auto ck = Checkpoint::Open(dir);
  ASSERT_TRUE(ck.ok()) << ck.status().ToString();
  for (int rank = 0; rank < L.tp * L.dp; ++rank) {
    const int tp_rank = rank % L.tp, dp_rank = rank / L.tp;
    for (const auto& t : kTensors) {
      Region r = TpRegion(t, tp_rank, L.tp);
      const int64_t n = r.numel();
      r = r.Sub(n * dp_rank / L.dp, n * (dp_rank + 1) / L.dp);
      std::vector<float> got(r.numel(), -99.0f);
      Status st = (*ck)->Read({{t.name, t.shape, r, got.data()}});
      ASSERT_TRUE(st.ok()) << st.ToString();
      ASSERT_EQ(got, Expected(t, r)) << t.name << " at rank " << rank << " of tp " << L.tp << " x dp " << L.dp;
    }
  }
}

TEST(Reshard, EverySavedLayoutLoadsAtEveryOtherLayout) {
  const std::vector<SyntheticLayout> layouts = {{1, 1}, {2, 1}, {4, 1}, {2, 2}, {1, 3}, {4, 2}};
  for (const auto& save : layouts) {
    TempDir d;
    SaveSynthetic(d.path(), save, 100);
    auto ck = Checkpoint::Open(d.path());
    ASSERT_TRUE(ck.ok());
    EXPECT_EQ((*ck)->manifest().files_size(), save.tp * save.dp);
    EXPECT_TRUE((*ck)->Verify().empty());
    for (const auto& load : layouts) {
      SCOPED_TRACE("saved at tp " + std::to_string(save.tp) + " x dp " + std::to_string(save.dp) + ", loaded at tp " +
                   std::to_string(load.tp) + " x dp " + std::to_string(load.dp));
      CheckLoad(d.path(), load);
    }
  }
}

TEST(Reshard, AFailedRankVoteAbortsTheCommit) {
  TempDir d;
  auto group = std::make_shared<ThreadGroupCommitter::Group>(2, std::chrono::milliseconds(30000));
  ThreadGroupCommitter c0(group, 0), c1(group, 1);
  pb::ShardIndex idx;
  std::thread t1([&] {
    (void)c1.Vote(5, idx, IoError("disk full"));
    (void)c1.Decide(5, Status::Ok());
  });
  auto v = c0.Vote(5, idx, Status::Ok());
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("disk full"), std::string::npos);
  EXPECT_FALSE(c0.Decide(5, v.status()).ok());
  t1.join();
}

}  // namespace
}  // namespace ogai::ckpt
