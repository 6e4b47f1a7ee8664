// optim::AdamW over ranges of the flat buffer, with the snapshot targets a checkpoint's
// staged save gives it (train/checkpointing.h): whatever order the ranges come in (ZeRO-1's
// chunks of the gradient buckets, or a whole buffer), every target is written with the
// updated values and their checksums, and the update's bits are those of a step without one.
#include "optim/adamw.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "core/crc32c.h"

namespace ogai::optim {
namespace {

// Three tensors with padding after each: [0, 1000) pad to 1024, [1024, 1724) pad to 1792,
// [1792, 3092) pad to 3136.
std::vector<model::ParamSpec> Params() {
  std::vector<model::ParamSpec> ps(3);
  const int64_t numel[3] = {1000, 700, 1300}, extent[3] = {1024, 768, 1344};
  int64_t off = 0;
  for (int i = 0; i < 3; ++i) {
    ps[i].name = "t" + std::to_string(i);
    ps[i].global_shape = ps[i].local_shape = {numel[i]};
    ps[i].offset = off;
    ps[i].numel = numel[i];
    ps[i].extent = extent[i];
    ps[i].decay = i != 1;
    off += extent[i];
  }
  return ps;
}
constexpr int64_t kTotal = 1024 + 768 + 1344;

std::vector<float> Values(int64_t n, uint32_t salt, bool positive) {
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t h = Crc32c(&i, sizeof(i), salt);
    const float x = static_cast<float>(static_cast<int32_t>(h % 2001) - 1000) / 1000.0f;
    out[static_cast<size_t>(i)] = positive ? x * x : x;
  }
  return out;
}

struct Target {
  int64_t begin, end;
  std::vector<float> param, m, v;
  std::vector<uint32_t> crc_param, crc_m, crc_v;
};

// One step from the same state with and without the snapshot; every element's update and
// every target's values and per-chunk checksums are compared.
void CheckSnapshot(const std::vector<AdamW::Range>& ranges, const std::vector<std::pair<int64_t, int64_t>>& pieces,
                   int64_t chunk) {
  TrainConfig tc;
  tc.weight_decay = 0.1;
  AdamW plain(tc, Params(), ranges), snap(tc, Params(), ranges);
  const std::vector<float> p0 = Values(kTotal, 1, false), g0 = Values(kTotal, 2, false);
  const std::vector<float> m0 = Values(plain.size(), 3, false), v0 = Values(plain.size(), 4, true);
  for (AdamW* o : {&plain, &snap}) {
    std::memcpy(o->m(), m0.data(), m0.size() * 4);
    std::memcpy(o->v(), v0.data(), v0.size() * 4);
  }
  std::vector<float> pp = p0, pg = g0, sp = p0, sg = g0;
  std::vector<Target> targets;
  std::vector<SnapshotTarget> st;
  for (const auto& [b, e] : pieces) {
    ASSERT_GE(snap.StateIndex(b, e), 0) << "a piece the optimizer does not own: " << b << ".." << e;
    const int64_t n = e - b, chunks = (n + chunk - 1) / chunk;
    targets.push_back({b, e, std::vector<float>(n, -7.0f), std::vector<float>(n, -7.0f), std::vector<float>(n, -7.0f),
                       std::vector<uint32_t>(chunks), std::vector<uint32_t>(chunks), std::vector<uint32_t>(chunks)});
  }
  for (Target& t : targets) {
    st.push_back({t.begin, t.end, t.param.data(), t.m.data(), t.v.data(), chunk, t.crc_param.data(), t.crc_m.data(),
                  t.crc_v.data()});
  }
  plain.Step(pp.data(), pg.data(), 1e-2, 0.7f, 3);
  snap.Step(sp.data(), sg.data(), 1e-2, 0.7f, 3, true, nullptr, &st);
  ASSERT_EQ(std::memcmp(pp.data(), sp.data(), pp.size() * 4), 0) << "the snapshot changed the parameters' bits";
  ASSERT_EQ(std::memcmp(pg.data(), sg.data(), pg.size() * 4), 0) << "the snapshot changed the cleared gradients";
  ASSERT_EQ(std::memcmp(plain.m(), snap.m(), plain.size() * 4), 0);
  ASSERT_EQ(std::memcmp(plain.v(), snap.v(), plain.size() * 4), 0);
  for (const Target& t : targets) {
    const int64_t n = t.end - t.begin, state = plain.StateIndex(t.begin, t.end);
    SCOPED_TRACE("target " + std::to_string(t.begin) + ".." + std::to_string(t.end));
    const float* want[3] = {pp.data() + t.begin, plain.m() + state, plain.v() + state};
    const std::vector<float>* got[3] = {&t.param, &t.m, &t.v};
    const std::vector<uint32_t>* crc[3] = {&t.crc_param, &t.crc_m, &t.crc_v};
    for (int j = 0; j < 3; ++j) {
      EXPECT_EQ(std::memcmp(got[j]->data(), want[j], static_cast<size_t>(n) * 4), 0) << "array " << j;
      for (size_t k = 0; k < crc[j]->size(); ++k) {
        const int64_t lo = static_cast<int64_t>(k) * chunk, hi = std::min(n, lo + chunk);
        EXPECT_EQ((*crc[j])[k], Crc32c(want[j] + lo, static_cast<size_t>(hi - lo) * 4))
            << "array " << j << " chunk " << k;
      }
    }
  }
}

TEST(AdamWSnapshot, TheWholeBufferWithATargetPerTensor) {
  CheckSnapshot({{0, kTotal}}, {{0, 1000}, {1024, 1724}, {1792, 3092}}, 96);
}

// ZeRO-1's ranges as the reducer hands them out need not ascend; a cursor that only moves
// forward would miss the targets of every range after the first.
TEST(AdamWSnapshot, RangesInDescendingOrderStillWriteEveryTarget) {
  CheckSnapshot({{2400, kTotal}, {1200, 1900}, {0, 600}}, {{2400, 3092}, {1200, 1724}, {1792, 1900}, {0, 600}}, 128);
}

// Targets covering part of the owned elements only, ranges in no order at all.
TEST(AdamWSnapshot, PartialTargetsInShuffledRanges) {
  CheckSnapshot({{1500, 2000}, {0, 700}, {2600, kTotal}, {700, 1500}},
                {{800, 1000}, {2700, 3000}, {1600, 1724}, {100, 650}}, 50);
}

}  // namespace
}  // namespace ogai::optim
