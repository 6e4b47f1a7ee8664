// Optimizer-staged checkpoints under ZeRO-1 (parallel.zero: 1, dp = 2): two real trainers,
// threads of this process joined over the ucx backend and an in-process store, as ogai-run
// would start them. A save due at the end of a step is written into staging by each rank's
// optimizer (Checkpointing::BeforeOptimizerStep; the write plan follows the optimizer's shard,
// CheckpointWritePlan), its shard files hold the same bytes as a synchronous save of the same
// state, resuming it continues with the same loss bits as a run without saves, and it loads at
// other layouts (dp 1, dp 2 without ZeRO) with the same parameters and moments.
#include <bit>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "comm/device_mesh.h"
#include "comm/process_group.h"
#include "store/memory_store.h"
#include "tests/ckpt/test_util.h"
#include "train/checkpointing.h"
#include "train/trainer.h"

namespace ogai::train {
namespace {

using ckpt::testing::TempDir;

Config TinyConfig(const std::vector<std::string>& overrides) {
  std::vector<std::string> o = {"data.demo_tokens=200000", "train.log_every=1000", "parallel.timeout_s=120"};
  o.insert(o.end(), overrides.begin(), overrides.end());
  auto cfg = LoadConfig(ckpt::testing::SourcePath("examples/tiny.yaml"), o);
  EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
  return *cfg;
}

// A job of dp ranks (tp = pp = 1), each a thread with its own process group and trainer.
class Job {
 public:
  explicit Job(int dp) : world_(dp), mesh_(dp), trainers_(dp) {}
  ~Job() {
    // Groups are torn down by their own ranks, the trainers (and their saves) first.
    (void)OnEveryRank([&](int r) {
      trainers_[r].reset();
      mesh_[r].reset();
      world_[r].reset();
      return Status::Ok();
    });
  }
  int size() const { return static_cast<int>(world_.size()); }
  Trainer& trainer(int r) { return *trainers_[r]; }
  store::MemoryStore& store() { return *store_; }

  // Runs fn(rank) on every rank at once; the first error, naming its rank.
  Status OnEveryRank(const std::function<Status(int)>& fn) {
    std::vector<Status> st(world_.size());
    std::vector<std::thread> threads;
    for (int r = 0; r < size(); ++r) threads.emplace_back([&, r] { st[r] = fn(r); });
    for (auto& t : threads) t.join();
    for (int r = 0; r < size(); ++r)
      if (!st[r].ok()) return st[r].WithContext("rank " + std::to_string(r));
    return Status::Ok();
  }

  Status Start(const Config& cfg) {
    return OnEveryRank([&](int r) -> Status {
      DistContext ctx;
      if (size() > 1) {
        comm::ProcessGroupOptions o;
        o.local_world_size = size();
        o.local_rank = r;
        o.timeout = std::chrono::seconds(120);
        OGAI_ASSIGN_OR_RETURN(world_[r], comm::CreateProcessGroup("ucx", store_, r, size(), o));
        OGAI_ASSIGN_OR_RETURN(mesh_[r], comm::DeviceMesh::Create(world_[r].get(), 1, size(), 1));
        ctx.world = world_[r].get();
        ctx.mesh = mesh_[r].get();
        ctx.store = store_;
      }
      OGAI_ASSIGN_OR_RETURN(ctx.layout, parallel::MakeLayout(cfg.parallel, cfg.model, r, size()));
      TrainerOptions topts;
      topts.print = false;
      OGAI_ASSIGN_OR_RETURN(trainers_[r], Trainer::Create(cfg, ctx, topts));
      return Status::Ok();
    });
  }

  // `steps` steps on every rank; the loss bits of each (the same on every rank: the loss is
  // reduced over the job). With `drain_before_save`, every save in flight is committed before
  // a step that ends in a save, so that it finds the writer idle and can be staged even when
  // the disk is slow (the optimizer rightly leaves a save to a copy while another one writes).
  Result<std::vector<uint64_t>> Steps(int steps, bool drain_before_save) {
    std::vector<uint64_t> bits;
    OGAI_RETURN_IF_ERROR(OnEveryRank([&](int r) -> Status {
      Trainer& t = *trainers_[r];
      for (int i = 0; i < steps; ++i) {
        if (drain_before_save && t.checkpointing().SaveDue(t.step() + 1))
          OGAI_RETURN_IF_ERROR(t.checkpointing().writer()->Wait());
        StepStats s;
        OGAI_RETURN_IF_ERROR(t.Step(&s));
        if (r == 0) bits.push_back(std::bit_cast<uint64_t>(s.loss));
      }
      return Status::Ok();
    }));
    return bits;
  }

 private:
  std::shared_ptr<store::MemoryStore> store_ = std::make_shared<store::MemoryStore>();
  std::vector<std::unique_ptr<comm::ProcessGroup>> world_;
  std::vector<std::unique_ptr<comm::DeviceMesh>> mesh_;
  std::vector<std::unique_ptr<Trainer>> trainers_;
};

// Buckets of 64 Ki elements: the tiny model's 0.4 M parameters make several, so each rank's
// optimizer holds several ranges (its chunk of each bucket) that cut through tensors.
const std::vector<std::string> kZero = {"parallel.dp=2", "parallel.zero=1", "parallel.bucket_mb=0.25"};

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Every save the writer of each rank made was staged by the optimizer.
void ExpectStaged(Job& job, size_t saves) {
  for (int r = 0; r < job.size(); ++r) {
    const auto stats = job.trainer(r).checkpointing().writer()->stats();
    ASSERT_EQ(stats.size(), saves) << "rank " << r;
    for (size_t i = 0; i < stats.size(); ++i)
      EXPECT_TRUE(stats[i].staged) << "rank " << r << ": save " << i << " was not written by the optimizer";
  }
}

TEST(ZeroStaging, TheOptimizerWrittenSnapshotEqualsASynchronousSave) {
  TempDir d;
  Job job(2);
  ASSERT_TRUE(
      job.Start(TinyConfig(With(kZero, {"train.steps=6", "checkpoint.every_steps=3", "checkpoint.dir=" + d.path()})))
          .ok());
  ASSERT_GT(job.trainer(0).optimizer().ranges().size(), 2u) << "one bucket: ZeRO's ranges are not exercised";
  ASSERT_TRUE(job.Steps(6, /*drain_before_save=*/true).ok());
  ASSERT_TRUE(job.OnEveryRank([&](int r) { return job.trainer(r).checkpointing().writer()->Wait(); }).ok());
  ExpectStaged(job, 2);
  // The same state saved synchronously: a second commit of step 6 in this job, under keys of
  // its own (StoreCommitter: ckpt/6.1/...), never the first commit's.
  Status sync = job.OnEveryRank([&](int r) -> Status {
    OGAI_ASSIGN_OR_RETURN(ckpt::SaveStats s, job.trainer(r).checkpointing().SaveSync(6, d / "sync"));
    if (s.staged) return Internal("the synchronous save says it was staged");
    return Status::Ok();
  });
  ASSERT_TRUE(sync.ok()) << sync.ToString();
  for (const char* shard : {"rank_00000.shard", "rank_00001.shard"}) {
    const std::string a = ckpt::testing::ReadText(d / ("step_00000006/" + std::string(shard)));
    const std::string b = ckpt::testing::ReadText(d / ("sync/step_00000006/" + std::string(shard)));
    ASSERT_GT(a.size(), 1000u) << shard;
    EXPECT_TRUE(a == b) << shard << ": staged and synchronous shards differ (" << a.size() << " and " << b.size()
                        << " bytes)";
  }
  auto ck = ckpt::Checkpoint::Open(d / "step_00000006");
  ASSERT_TRUE(ck.ok()) << ck.status().ToString();
  EXPECT_TRUE((*ck)->Verify().empty());
}

// Resuming the staged save of step 3 (dp 2, ZeRO-1) continues exactly like the run without saves.
TEST(ZeroStaging, ResumingAStagedSaveGivesTheLossBitsOfARunWithoutSaves) {
  std::vector<uint64_t> plain;
  {
    Job job(2);
    ASSERT_TRUE(job.Start(TinyConfig(With(kZero, {"train.steps=6"}))).ok());
    auto bits = job.Steps(6, false);
    ASSERT_TRUE(bits.ok()) << bits.status().ToString();
    plain = *bits;
  }
  TempDir d;
  {
    Job job(2);
    ASSERT_TRUE(
        job.Start(TinyConfig(With(kZero, {"train.steps=6", "checkpoint.every_steps=3", "checkpoint.dir=" + d.path()})))
            .ok());
    auto bits = job.Steps(3, true);
    ASSERT_TRUE(bits.ok()) << bits.status().ToString();
    EXPECT_EQ(*bits, std::vector<uint64_t>(plain.begin(), plain.begin() + 3));
    ASSERT_TRUE(job.OnEveryRank([&](int r) { return job.trainer(r).checkpointing().writer()->Wait(); }).ok());
    ExpectStaged(job, 1);
  }
  Job job(2);
  ASSERT_TRUE(job.Start(TinyConfig(With(kZero, {"train.steps=6", "checkpoint.dir=" + (d / "again"),
                                                "checkpoint.resume=" + (d / "step_00000003")})))
                  .ok());
  EXPECT_EQ(job.trainer(0).step(), 3);
  auto resumed = job.Steps(3, false);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(*resumed, std::vector<uint64_t>(plain.begin() + 3, plain.end()));
}

// Mismatched elements between a loaded job's state and the saving job's (both have every
// parameter; each moment element is held by the rank whose optimizer covers it).
int64_t Mismatches(Job& saved, Job& loaded) {
  int64_t bad = 0;
  const model::GPT& ref = saved.trainer(0).model();
  for (int lr = 0; lr < loaded.size(); ++lr) {
    Trainer& l = loaded.trainer(lr);
    for (const model::ParamSpec& p : l.model().params()) {
      bad += std::memcmp(l.model().param_data() + p.offset, ref.param_data() + p.offset, p.numel * sizeof(float)) != 0;
      for (int64_t f = p.offset; f < p.offset + p.numel; ++f) {
        const int64_t k = l.optimizer().StateIndex(f, f + 1);
        if (k < 0) continue;
        for (int sr = 0; sr < saved.size(); ++sr) {
          const optim::AdamW& o = saved.trainer(sr).optimizer();
          const int64_t ks = o.StateIndex(f, f + 1);
          if (ks < 0) continue;
          bad += std::bit_cast<uint32_t>(l.optimizer().m()[k]) != std::bit_cast<uint32_t>(o.m()[ks]);
          bad += std::bit_cast<uint32_t>(l.optimizer().v()[k]) != std::bit_cast<uint32_t>(o.v()[ks]);
        }
      }
    }
  }
  return bad;
}

// A staged ZeRO-1 checkpoint of dp 2 loads at dp 1 and at dp 2 without ZeRO with the same
// parameters and moments as the job that saved it holds.
TEST(ZeroStaging, AStagedZeroCheckpointLoadsAtOtherLayouts) {
  TempDir d;
  Job saved(2);
  ASSERT_TRUE(
      saved.Start(TinyConfig(With(kZero, {"train.steps=4", "checkpoint.every_steps=4", "checkpoint.dir=" + d.path()})))
          .ok());
  ASSERT_TRUE(saved.Steps(4, true).ok());
  ASSERT_TRUE(saved.OnEveryRank([&](int r) { return saved.trainer(r).checkpointing().writer()->Wait(); }).ok());
  ExpectStaged(saved, 1);
  const std::string path = d / "step_00000004";
  const std::vector<std::pair<int, std::vector<std::string>>> layouts = {
      {1, {"parallel.dp=1", "parallel.zero=0"}},
      {2, {"parallel.dp=2", "parallel.zero=0"}},
      {1, {"parallel.dp=1", "parallel.zero=1"}},
  };
  for (const auto& [dp, overrides] : layouts) {
    SCOPED_TRACE(overrides[0] + " " + overrides[1]);
    Job loaded(dp);
    Status st = loaded.Start(TinyConfig(With(overrides, {"train.steps=8", "checkpoint.resume=" + path})));
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(loaded.trainer(0).step(), 4);
    EXPECT_EQ(Mismatches(saved, loaded), 0);
  }
}

}  // namespace
}  // namespace ogai::train
