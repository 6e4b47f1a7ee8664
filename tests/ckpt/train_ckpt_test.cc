// Checkpoints with the real model, optimizer and trainer, in one process: the write and
// read plans of every (dp, tp, pp, ZeRO-1) layout against each other, bit-exact resume,
// fallback from a damaged checkpoint, and flat staging memory over 100 saves.
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "ckpt/format.h"
#include "core/crc32c.h"
#include "core/memory.h"
#include "parallel/buckets.h"
#include "tests/ckpt/test_util.h"
#include "train/checkpointing.h"
#include "train/trainer.h"

namespace ogai::train {
namespace {

namespace fs = std::filesystem;
using ckpt::testing::TempDir;

float Val(const std::string& name, int64_t g, uint32_t salt) {
  uint32_t h = Crc32c(name.data(), name.size(), salt);
  h = Crc32c(&g, sizeof(g), h);
  return static_cast<float>(static_cast<int32_t>(h % 20001) - 10000) / 1000.0f;
}

// Global flat index of local element i of a parameter.
int64_t GlobalIndex(const model::ParamSpec& p, int64_t i) {
  std::vector<int64_t> c(p.local_shape.size());
  for (size_t d = p.local_shape.size(); d-- > 0;) {
    c[d] = i % p.local_shape[d];
    i /= p.local_shape[d];
  }
  if (p.shard_dim >= 0) c[p.shard_dim] += p.shard_begin;
  int64_t g = 0;
  for (size_t d = 0; d < c.size(); ++d) g = g * p.global_shape[d] + c[d];
  return g;
}

struct Rank {
  std::unique_ptr<model::GPT> model;
  std::unique_ptr<optim::AdamW> opt;
  CheckpointRole role;
};

ModelConfig SmallModel() {
  ModelConfig mc;
  mc.layers = 4;
  mc.heads = 4;
  mc.d_model = 32;
  mc.vocab = 64;
  mc.seq_len = 16;
  return mc;
}

// Rank `rank` of a (dp, tp, pp) layout, TP ranks adjacent and PP outermost; with `zero`
// the optimizer holds 1/dp of the flat buffer (a range cutting through tensors).
Rank MakeRank(int dp, int tp, int pp, bool zero, int rank) {
  const ModelConfig mc = SmallModel();
  const int tp_rank = rank % tp, dp_rank = (rank / tp) % dp, stage = rank / (tp * dp);
  model::ModelLayout L;
  L.tp_rank = tp_rank;
  L.tp_size = tp;
  L.layer_begin = mc.layers * stage / pp;
  L.layer_end = mc.layers * (stage + 1) / pp;
  L.first_stage = stage == 0;
  L.last_stage = stage == pp - 1;
  Rank r;
  auto m = model::GPT::Create(mc, L);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  r.model = std::move(*m);
  const int64_t n = r.model->num_local_params();
  // ZeRO-1 ranges as training makes them: this DP rank's chunk of every gradient bucket.
  std::vector<optim::AdamW::Range> ranges{{0, n}};
  if (zero) {
    ranges.clear();
    const auto plan = parallel::PlanBuckets(r.model->params(), n, 2000);
    for (int b = static_cast<int>(plan.buckets.size()) - 1; b >= 0; --b) {
      auto c = parallel::ZeroChunk(plan.buckets[b], dp_rank, dp);
      if (c.first < c.second) ranges.push_back(c);
    }
  }
  r.opt = std::make_unique<optim::AdamW>(TrainConfig{}, r.model->params(), ranges);
  r.role = {rank, dp * tp * pp, dp_rank, dp};
  return r;
}

// Index of flat element f in the optimizer's moment buffers, or -1 if it holds none for f.
int64_t StateIndex(const optim::AdamW& opt, int64_t f) {
  int64_t state = 0;
  for (const auto& r : opt.ranges()) {
    if (f >= r.first && f < r.second) return state + (f - r.first);
    state += r.second - r.first;
  }
  return -1;
}

void Fill(Rank& r) {
  for (const auto& p : r.model->params()) {
    for (int64_t i = 0; i < p.numel; ++i) {
      const int64_t g = GlobalIndex(p, i);
      r.model->param_data()[p.offset + i] = Val(p.name, g, 1);
      const int64_t f = p.offset + i;
      if (const int64_t k = StateIndex(*r.opt, f); k >= 0) {
        r.opt->m()[k] = Val(p.name, g, 2);
        r.opt->v()[k] = Val(p.name, g, 3);
      }
    }
  }
}

// 0 when every element a rank holds has the value of its global index.
int64_t Mismatches(Rank& r) {
  int64_t bad = 0;
  for (const auto& p : r.model->params()) {
    for (int64_t i = 0; i < p.numel; ++i) {
      const int64_t g = GlobalIndex(p, i);
      bad += r.model->param_data()[p.offset + i] != Val(p.name, g, 1);
      const int64_t f = p.offset + i;
      if (const int64_t k = StateIndex(*r.opt, f); k >= 0) {
        bad += r.opt->m()[k] != Val(p.name, g, 2);
        bad += r.opt->v()[k] != Val(p.name, g, 3);
      }
    }
  }
  return bad;
}

struct Layout3 {
  int dp, tp, pp;
  bool zero;
  std::string Name() const {
    return "(dp " + std::to_string(dp) + ", tp " + std::to_string(tp) + ", pp " + std::to_string(pp) +
           (zero ? ", zero-1)" : ")");
  }
};

void SaveLayout(const std::string& dir, const Layout3& L) {
  const int world = L.dp * L.tp * L.pp;
  auto group = std::make_shared<ckpt::ThreadGroupCommitter::Group>(world, std::chrono::milliseconds(60000));
  std::vector<Status> results(world);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      Rank r = MakeRank(L.dp, L.tp, L.pp, L.zero, rank);
      Fill(r);
      ckpt::ThreadGroupCommitter committer(group, rank);
      ckpt::WriterOptions wo;
      wo.dir = dir;
      wo.committer = &committer;
      wo.chunk_bytes = 8192;
      auto w = ckpt::CheckpointWriter::Create(wo);
      ckpt::SaveMeta meta;
      meta.step = 50;
      meta.layout.set_dp(L.dp);
      meta.layout.set_tp(L.tp);
      meta.layout.set_pp(L.pp);
      meta.layout.set_zero(L.zero);
      meta.layout.set_world_size(world);
      meta.opt_begin = r.opt->ranges().front().first;
      meta.opt_end = r.opt->ranges().back().second;
      results[rank] = (*w)->Save(CheckpointWritePlan(*r.model, *r.opt, r.role, L.zero), meta);
      if (results[rank].ok()) results[rank] = (*w)->Wait();
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r)
    ASSERT_TRUE(results[r].ok()) << L.Name() << " rank " << r << ": " << results[r].ToString();
}

TEST(ReshardModel, CheckpointsOfEveryLayoutLoadAtEveryOtherLayout) {
  // The layouts: (2, 2, 1) saved, (1, 1, 2) and (4, 1, 1) loaded, plus 2x2x2 with
  // ZeRO-1 (optimizer ranges cutting through tensors) and the dense model.
  const std::vector<Layout3> layouts = {
      {1, 1, 1, false}, {2, 2, 1, false}, {1, 1, 2, false}, {4, 1, 1, true},
      {2, 2, 2, true},  {1, 4, 1, false}, {3, 1, 2, true},
  };
  for (const auto& save : layouts) {
    TempDir d;
    SaveLayout(d.path(), save);
    auto ck = ckpt::Checkpoint::Open(d.path());
    ASSERT_TRUE(ck.ok());
    ASSERT_TRUE((*ck)->Verify().empty());
    // Written once: the shards hold exactly the dense parameters and moments.
    const int64_t dense = model::GPT::DenseParamCount(SmallModel());
    int64_t elems = 0;
    for (const auto& t : (*ck)->manifest().tensors())
      for (const auto& p : t.pieces()) elems += p.flat_end() - p.flat_begin();
    EXPECT_EQ(elems, 3 * dense) << save.Name();
    for (const auto& load : layouts) {
      for (int rank = 0; rank < load.dp * load.tp * load.pp; ++rank) {
        Rank r = MakeRank(load.dp, load.tp, load.pp, load.zero, rank);
        Status st = (*ck)->Read(CheckpointReadPlan(*r.model, *r.opt));
        ASSERT_TRUE(st.ok()) << st.ToString();
        ASSERT_EQ(Mismatches(r), 0) << "saved at " << save.Name() << ", loaded at " << load.Name() << " rank " << rank;
      }
    }
  }
}

// Under ZeRO-1 a rank's write plan is, per tensor piece, the parameters, adamw.m and adamw.v
// of exactly the elements its optimizer updates (so the optimizer can stage them,
// Checkpointing::BeforeOptimizerStep), whatever the TP and PP layout.
TEST(ReshardModel, UnderZeroTheWritePlanFollowsTheOptimizersShard) {
  for (const Layout3& L : {Layout3{4, 1, 1, true}, Layout3{2, 2, 2, true}, Layout3{3, 1, 2, true}}) {
    for (int rank = 0; rank < L.dp * L.tp * L.pp; ++rank) {
      Rank r = MakeRank(L.dp, L.tp, L.pp, L.zero, rank);
      const auto plan = CheckpointWritePlan(*r.model, *r.opt, r.role, true);
      ASSERT_EQ(plan.size() % 3, 0u) << L.Name() << " rank " << rank;
      for (size_t i = 0; i < plan.size(); i += 3) {
        const int64_t b = static_cast<const float*>(plan[i].data) - r.model->param_data();
        const int64_t n = plan[i].region.numel();
        const int64_t st = r.opt->StateIndex(b, b + n);
        ASSERT_GE(st, 0) << L.Name() << " rank " << rank << ": " << plan[i].name << " is not its optimizer's";
        EXPECT_EQ(plan[i + 1].name, "adamw.m." + plan[i].name);
        EXPECT_EQ(plan[i + 1].data, r.opt->m() + st);
        EXPECT_EQ(plan[i + 2].data, r.opt->v() + st);
        EXPECT_EQ(plan[i + 1].region.numel(), n);
        EXPECT_EQ(plan[i + 2].region.numel(), n);
      }
    }
  }
}

// ---- the trainer ---------------------------------------------------------------------------

Config TinyConfig(const std::vector<std::string>& overrides) {
  std::vector<std::string> o = {"data.demo_tokens=200000", "train.log_every=1000"};
  o.insert(o.end(), overrides.begin(), overrides.end());
  auto cfg = LoadConfig(ckpt::testing::SourcePath("examples/tiny.yaml"), o);
  EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
  return *cfg;
}

std::vector<std::string> RunTrainer(const std::vector<std::string>& overrides, int64_t* start_step = nullptr) {
  TempDir m;
  std::vector<std::string> o = overrides;
  o.push_back("train.metrics_file=" + (m / "metrics.jsonl"));
  TrainerOptions topts;
  topts.print = false;
  auto t = Trainer::Create(TinyConfig(o), {}, topts);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  if (!t.ok()) return {};
  if (start_step != nullptr) *start_step = (*t)->step();
  Status st = (*t)->Run(nullptr);
  EXPECT_TRUE(st.ok()) << st.ToString();
  std::vector<std::string> bits;
  for (const auto& [step, b] : ckpt::testing::LossBits(m / "metrics.jsonl")) bits.push_back(b);
  return bits;
}

class BitExactResume : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(BitExactResume, TenPlusTenEqualsTwenty) {
  std::vector<std::string> plain = {"train.steps=20", "train.warmup=5"};
  for (const std::string& o : GetParam())
    if (o.rfind("train.", 0) == 0) plain.push_back(o);  // the same training, without saves
  const auto straight = RunTrainer(plain);
  ASSERT_EQ(straight.size(), 20u);
  TempDir d;
  auto o = GetParam();
  o.push_back("train.warmup=5");
  o.push_back("checkpoint.dir=" + d.path());
  auto first = o, second = o;
  // The first run stops (and saves) after step 10 of a 20-step schedule; warm-up is 5 steps,
  // so steps 6..10 already depend on the schedule's length.
  first.insert(first.end(), {"train.steps=20", "train.stop_after=10"});
  second.push_back("train.steps=20");
  const auto a = RunTrainer(first);
  int64_t start = -1;
  const auto b = RunTrainer(second, &start);
  EXPECT_EQ(start, 10);
  std::vector<std::string> resumed = a;
  resumed.insert(resumed.end(), b.begin(), b.end());
  EXPECT_EQ(resumed, straight);
}

// async with staging for one snapshot (the optimizer writes it); the same in bf16 mixed
// precision (the optimizer's pass also writes the bf16 weights); async with a 256 KiB ring
// (the 5 MiB state streams through it) and saves every 3 steps; synchronous.
INSTANTIATE_TEST_SUITE_P(Ckpt, BitExactResume,
                         ::testing::Values(std::vector<std::string>{}, std::vector<std::string>{"train.precision=bf16"},
                                           std::vector<std::string>{"checkpoint.staging_mb=0.25",
                                                                    "checkpoint.every_steps=3"},
                                           std::vector<std::string>{"checkpoint.async=false"}));

struct TwoCheckpoints {
  TempDir d;
  std::string shard10;
  TwoCheckpoints() {
    RunTrainer({"train.steps=10", "checkpoint.every_steps=5", "checkpoint.dir=" + d.path()});
    shard10 = d / "step_00000010/rank_00000.shard";
  }
};

Result<std::unique_ptr<Trainer>> Resume(const std::string& dir, const std::vector<std::string>& extra = {}) {
  auto o = extra;
  o.push_back("checkpoint.dir=" + dir);
  o.push_back("train.steps=20");
  TrainerOptions topts;
  topts.print = false;
  return Trainer::Create(TinyConfig(o), {}, topts);
}

TEST(Resume, DamagedLatestFallsBackOrFailsWhenStrict) {
  for (const char* damage : {"flip", "truncate", "manifest"}) {
    SCOPED_TRACE(damage);
    TwoCheckpoints c;
    if (std::string(damage) == "flip") {
      ckpt::testing::FlipByte(c.shard10, 70000);
    } else if (std::string(damage) == "truncate") {
      ckpt::testing::TruncateFile(c.shard10, ckpt::testing::FileSize(c.shard10) / 2);
    } else {
      ckpt::testing::FlipByte(c.d / "step_00000010/manifest.pb", 40);
    }
    auto t = Resume(c.d.path());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ((*t)->step(), 5);  // fell back to the previous committed checkpoint
    auto strict = Resume(c.d.path(), {"checkpoint.strict=true"});
    ASSERT_FALSE(strict.ok());
    const std::string msg = strict.status().message();
    EXPECT_NE(msg.find("step_00000010"), std::string::npos) << msg;
    if (std::string(damage) != "manifest") {
      EXPECT_NE(msg.find("rank_00000.shard"), std::string::npos) << msg;
      EXPECT_NE(msg.find("tensor '"), std::string::npos) << msg;
      EXPECT_NE(msg.find("byte offset"), std::string::npos) << msg;
    }
    EXPECT_NE(msg.find("checkpoint.strict"), std::string::npos) << msg;
    // An explicit PATH does not fall back.
    auto explicit_path = Resume(c.d.path(), {"checkpoint.resume=" + (c.d / "step_00000010")});
    EXPECT_FALSE(explicit_path.ok());
  }
}

TEST(Resume, ExplicitPathNoneAndConfigMismatch) {
  TwoCheckpoints c;
  auto t = Resume(c.d.path(), {"checkpoint.resume=" + (c.d / "step_00000005")});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->step(), 5);
  t = Resume(c.d.path(), {"checkpoint.resume=none"});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->step(), 0);
  // Another global batch would change the data position: an error, not a fallback.
  t = Resume(c.d.path(), {"train.global_batch=16"});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("global_batch"), std::string::npos) << t.status().message();
  // Another model shape: the tensor and both shapes are named.
  t = Resume(c.d.path(), {"model.d_model=64"});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("shape"), std::string::npos) << t.status().message();
  // A path that is not a checkpoint.
  t = Resume(c.d.path(), {"checkpoint.resume=" + (c.d / "nope")});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("does not exist"), std::string::npos);
}

TEST(Staging, HundredSavesLeaveResidentMemoryFlat) {
  TempDir d;
  // A smaller model than tiny.yaml's: the saves, not the steps, are what is measured.
  auto cfg = TinyConfig({"train.steps=1000", "checkpoint.every_steps=1", "checkpoint.keep_last=2",
                         "checkpoint.dir=" + d.path(), "model.layers=1", "model.d_model=64", "model.heads=2",
                         "train.micro_batch=2"});
  TrainerOptions topts;
  topts.print = false;
  auto t = Trainer::Create(cfg, {}, topts);
  ASSERT_TRUE(t.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*t)->Step(nullptr).ok());  // warm: staging allocated
  ASSERT_TRUE((*t)->checkpointing().writer()->Wait().ok());
  const int64_t before = ResidentBytes();
  const int64_t staging_before = GetMemStats()[MemCategory::kStaging].current;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE((*t)->Step(nullptr).ok());
  ASSERT_TRUE((*t)->checkpointing().writer()->Wait().ok());
  const int64_t after = ResidentBytes();
  EXPECT_EQ((*t)->checkpointing().writer()->stats().size(), 110u);
  EXPECT_EQ(GetMemStats()[MemCategory::kStaging].current, staging_before);
  ASSERT_GT(before, 0);
  EXPECT_LE(static_cast<double>(after), 1.05 * static_cast<double>(before)) << before << " -> " << after;
  auto list = ckpt::ListCheckpoints(d.path());
  EXPECT_EQ(list->size(), 2u);  // retention kept up
}

// A save due at the end of a step is written into staging by the optimizer as it updates
// (Checkpointing::BeforeOptimizerStep); its shard file holds the same bytes as a synchronous
// save of the same state, and the run's losses are those of a run without saves.
TEST(Staging, TheOptimizerWrittenSnapshotEqualsASynchronousSave) {
  TempDir d;
  const auto plain = RunTrainer({"train.steps=6"});
  auto cfg = TinyConfig({"train.steps=6", "checkpoint.every_steps=3", "checkpoint.dir=" + d.path()});
  TrainerOptions topts;
  topts.print = false;
  auto t = Trainer::Create(cfg, {}, topts);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  Checkpointing& c = (*t)->checkpointing();
  for (int i = 0; i < 6; ++i) {
    // The save of step 3 must have left staging before step 6's save is due. On a slow disk
    // it may not have, and the optimizer then rightly leaves step 6's save to a copy after
    // the step (Checkpointing::BeforeOptimizerStep), which is not what this test looks at.
    if (i == 5) {
      ASSERT_TRUE(c.writer()->Wait().ok());
    }
    ASSERT_TRUE((*t)->Step(nullptr).ok());
  }
  ASSERT_TRUE(c.writer()->Wait().ok());
  const auto stats = c.writer()->stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_TRUE(stats.back().staged) << "the save at step 6 was not written by the optimizer";
  auto sync = c.SaveSync(6, (d / "sync"));
  ASSERT_TRUE(sync.ok()) << sync.status().ToString();
  EXPECT_FALSE(sync->staged);
  const std::string a = ckpt::testing::ReadText(d / "step_00000006/rank_00000.shard");
  const std::string b = ckpt::testing::ReadText(d / "sync/step_00000006/rank_00000.shard");
  ASSERT_GT(a.size(), 1000u);
  EXPECT_TRUE(a == b) << "staged and synchronous shards differ (" << a.size() << " and " << b.size() << " bytes)";
  // Resuming from the staged save at step 3 continues exactly like the run without saves.
  int64_t start = -1;
  const auto resumed = RunTrainer(
      {"train.steps=6", "checkpoint.dir=" + (d / "again"), "checkpoint.resume=" + (d / "step_00000003")}, &start);
  EXPECT_EQ(start, 3);
  ASSERT_EQ(resumed.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(plain.begin() + 3, plain.end()), resumed);
}

}  // namespace
}  // namespace ogai::train
