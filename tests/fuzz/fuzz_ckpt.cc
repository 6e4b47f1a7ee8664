// libFuzzer harness: the checkpoint manifest and shard reader (ckpt/reader.h, ckpt/format.h).
// A small real checkpoint is saved once; each input is a Manifest (protobuf) written in place
// of its manifest with a correct envelope and CRC, so the fuzzer explores the checks behind
// the CRC, then opened, verified and read. The input also goes to the shard header decoder.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ckpt/format.h"
#include "ckpt/reader.h"
#include "ckpt/writer.h"
#include "core/crc32c.h"
#include "tests/ckpt/one_rank_meta.h"

namespace {

std::string g_step_dir;

void SaveOnce() {
  const char* t = std::getenv("TMPDIR");
  const std::string root = std::string(t && *t ? t : "/tmp") + "/ogai-fuzz-ckpt." + std::to_string(::getpid());
  std::filesystem::remove_all(root);
  std::vector<float> w(64 * 64), b(16);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i);
  ogai::ckpt::WriterOptions wo;
  wo.dir = root;
  wo.async = false;
  wo.chunk_bytes = 4096;
  auto writer = ogai::ckpt::CheckpointWriter::Create(wo);
  if (!writer.ok()) {
    std::fprintf(stderr, "fuzz_ckpt: %s\n", writer.status().ToString().c_str());
    std::abort();
  }
  const ogai::ckpt::SaveMeta m = ogai::ckpt::testing::OneRankMeta(5, 8);
  using ogai::ckpt::Region;
  if (!(*writer)
           ->Save({{"w", {64, 64}, Region::Whole({64, 64}), w.data()}, {"b", {16}, Region::Whole({16}), b.data()}}, m)
           .ok())
    std::abort();
  g_step_dir = root + "/step_00000005";
  // OGAI_FUZZ_SEED=FILE writes the good manifest there (how the seed corpus was made).
  if (const char* seed = std::getenv("OGAI_FUZZ_SEED")) {
    auto man = ogai::ckpt::ReadManifest(g_step_dir);
    std::ofstream(seed, std::ios::binary) << man->SerializeAsString();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  SaveOnce();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace pb = ogai::ckpt::pb;
  ogai::ckpt::ShardHeader sh;
  (void)ogai::ckpt::DecodeShardHeader(data, size, "fuzz", &sh);
  pb::Manifest m;
  if (!m.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (!ogai::ckpt::WriteManifest(g_step_dir, m).ok()) return 0;
  auto ck = ogai::ckpt::Checkpoint::Open(g_step_dir);
  if (!ck.ok()) return 0;
  (void)(*ck)->Verify();
  for (const auto& t : (*ck)->manifest().tensors()) {
    std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
    int64_t n = 1;
    for (int64_t d : shape) n = d > 0 && n <= (int64_t{1} << 20) / d ? n * d : (int64_t{1} << 21);
    if (n > (int64_t{1} << 20)) continue;
    std::vector<float> buf(static_cast<size_t>(n));
    (void)(*ck)->Read({{t.name(), shape, ogai::ckpt::Region::Whole(shape), buf.data()}});
  }
  return 0;
}
