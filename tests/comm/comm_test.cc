// Multi-process tests of the process groups: real rank processes started by the spawner
// (ucx, bootstrapped through a store) or by mpirun (mpi, and ucx bootstrapped through MPI).
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "store/server.h"
#include "tests/comm/spawner.h"

namespace ogai {
namespace {

using namespace std::chrono_literals;
using ::ogai::testing::SpawnResult;

const char* kWorker = OGAI_COMM_WORKER;

// The ucx backend's collectives go through shared memory when every rank is on this node
// (always, here); OGAI_UCX_SHM=0 makes them use UCX messages, as across nodes.
const std::vector<std::string> kUcxMessages = {"OGAI_UCX_SHM=0", "OGAI_LOG_LEVEL=debug"};
// Shared memory with one-page slots, two in flight and no spinning: every message of the
// sweep spans many chunks, reuses slots and sleeps on the futex.
const std::vector<std::string> kShmStress = {"OGAI_UCX_SHM_SLOT_BYTES=4096",    "OGAI_UCX_SHM_DEPTH=2",
                                             "OGAI_UCX_SHM_SPIN_US=0",          "OGAI_UCX_SHM_BG_SPIN_US=0",
                                             "OGAI_UCX_SHM_DIRECT_MAX_BYTES=0", "OGAI_LOG_LEVEL=debug"};

// Every rank said which path its world group took.
bool AllSaid(const ::ogai::testing::SpawnResult& r, const std::string& what) {
  for (const auto& rank : r.ranks) {
    if (rank.output.find("group 'world': collectives through " + what) == std::string::npos) return false;
  }
  return !r.ranks.empty();
}

SpawnResult RunUcx(int n, const std::vector<std::string>& args, std::chrono::seconds timeout = 240s,
                   const std::vector<std::string>& extra_env = {}) {
  auto server = store::StoreServer::Start("127.0.0.1", 0, "comm-test-token");
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  std::vector<std::string> argv = {kWorker, "--backend", "ucx"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env = {"OGAI_TEST_STORE_PORT=" + std::to_string((*server)->port()),
                                  "OGAI_TEST_STORE_TOKEN=comm-test-token"};
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  return ::ogai::testing::SpawnRanks(n, argv, env, timeout);
}

SpawnResult RunMpirun(int n, const std::string& backend, const std::vector<std::string>& args,
                      std::chrono::seconds timeout = 240s) {
  std::vector<std::string> argv = {OGAI_MPIEXEC,
                                   "-np",
                                   std::to_string(n),
                                   "--oversubscribe",
                                   "--bind-to",
                                   "none",
                                   "--mca",
                                   "btl_tcp_if_include",
                                   "lo",
                                   "--mca",
                                   "oob_tcp_if_include",
                                   "lo",
                                   kWorker,
                                   "--backend",
                                   backend};
  argv.insert(argv.end(), args.begin(), args.end());
  return ::ogai::testing::RunCommand(argv, {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"}, timeout);
}

// ---- every collective x op x count (0, 1, 7, 1M+3) x in-place, per world size and dtype

using SweepParam = std::tuple<int, std::string>;  // world size, dtype

class UcxSweep : public ::testing::TestWithParam<SweepParam> {};
TEST_P(UcxSweep, AllCollectivesCorrect) {
  auto [n, dtype] = GetParam();
  auto r = RunUcx(n, {"--scenario", "sweep", "--dtype", dtype});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}
INSTANTIATE_TEST_SUITE_P(Comm, UcxSweep,
                         ::testing::Values(SweepParam{1, "fp32"}, SweepParam{2, "fp32"}, SweepParam{3, "fp32"},
                                           SweepParam{4, "fp32"}, SweepParam{8, "fp32"}, SweepParam{2, "bf16"},
                                           SweepParam{3, "bf16"}, SweepParam{4, "bf16"}, SweepParam{8, "bf16"},
                                           SweepParam{3, "fp16"}),
                         [](const auto& info) {
                           return "n" + std::to_string(std::get<0>(info.param)) + "_" + std::get<1>(info.param);
                         });

// The UCX message algorithms (recursive doubling, ring, tree, chain), as used across nodes.
class UcxMessagesSweep : public ::testing::TestWithParam<SweepParam> {};
TEST_P(UcxMessagesSweep, AllCollectivesCorrect) {
  auto [n, dtype] = GetParam();
  auto r = RunUcx(n, {"--scenario", "sweep", "--dtype", dtype}, 240s, kUcxMessages);
  EXPECT_TRUE(r.AllOk()) << r.Describe();
  EXPECT_TRUE(AllSaid(r, "UCX messages")) << r.Describe();
}
INSTANTIATE_TEST_SUITE_P(Comm, UcxMessagesSweep,
                         ::testing::Values(SweepParam{2, "fp32"}, SweepParam{3, "bf16"}, SweepParam{4, "fp32"}),
                         [](const auto& info) {
                           return "n" + std::to_string(std::get<0>(info.param)) + "_" + std::get<1>(info.param);
                         });

// Shared memory in its corners: chunking, slot reuse, the two-phase all-reduce, futex sleeps.
class UcxShmStressSweep : public ::testing::TestWithParam<SweepParam> {};
TEST_P(UcxShmStressSweep, AllCollectivesCorrect) {
  auto [n, dtype] = GetParam();
  auto r = RunUcx(n, {"--scenario", "sweep", "--dtype", dtype, "--large", "100003"}, 240s, kShmStress);
  EXPECT_TRUE(r.AllOk()) << r.Describe();
  EXPECT_TRUE(AllSaid(r, "shared memory")) << r.Describe();
}
INSTANTIATE_TEST_SUITE_P(Comm, UcxShmStressSweep,
                         ::testing::Values(SweepParam{2, "bf16"}, SweepParam{3, "fp32"}, SweepParam{5, "fp16"}),
                         [](const auto& info) {
                           return "n" + std::to_string(std::get<0>(info.param)) + "_" + std::get<1>(info.param);
                         });

class MpiSweep : public ::testing::TestWithParam<SweepParam> {};
TEST_P(MpiSweep, AllCollectivesCorrect) {
  auto [n, dtype] = GetParam();
  auto r = RunMpirun(n, "mpi", {"--scenario", "sweep", "--dtype", dtype});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}
INSTANTIATE_TEST_SUITE_P(Comm, MpiSweep,
                         ::testing::Values(SweepParam{1, "fp32"}, SweepParam{2, "fp32"}, SweepParam{3, "fp32"},
                                           SweepParam{4, "fp32"}, SweepParam{8, "fp32"}, SweepParam{2, "bf16"},
                                           SweepParam{3, "bf16"}),
                         [](const auto& info) {
                           return "n" + std::to_string(std::get<0>(info.param)) + "_" + std::get<1>(info.param);
                         });

TEST(UcxOverMpiBootstrap, SweepUnderMpirun) {
  auto r = RunMpirun(2, "ucx", {"--scenario", "sweep", "--dtype", "fp32", "--large", "100003"});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}

TEST(UcxGroups, Determinism) {
  auto r = RunUcx(3, {"--scenario", "determinism"});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}
TEST(UcxGroups, DeterminismTwoPhaseShm) {
  auto r = RunUcx(4, {"--scenario", "determinism"}, 240s,
                  {"OGAI_UCX_SHM_DIRECT_MAX_BYTES=0", "OGAI_UCX_SHM_SLOT_BYTES=8192"});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}
TEST(UcxGroups, DeterminismUcxMessages) {
  auto r = RunUcx(3, {"--scenario", "determinism"}, 240s, kUcxMessages);
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}
TEST(MpiGroups, Determinism) {
  auto r = RunMpirun(3, "mpi", {"--scenario", "determinism"});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}

// No wall-clock assertion: the group's timeout decides when the others fail, and the worker
// checks the error (kTimeout naming the group, the op and the absent rank), not the time.
TEST(UcxGroups, MissingRankTimesOutNamingGroupOpAndRank) {
  auto r = RunUcx(3, {"--scenario", "missing"}, 60s);
  EXPECT_TRUE(r.AllOk()) << r.Describe();
  EXPECT_NE(r.ranks[0].output.find("missing ranks ["), std::string::npos)
      << r.Describe();  // rank 2 among them: the worker checks
}
TEST(UcxGroups, MissingRankTimesOutNamingGroupOpAndRankUcxMessages) {
  auto r = RunUcx(3, {"--scenario", "missing"}, 60s, kUcxMessages);
  EXPECT_TRUE(r.AllOk()) << r.Describe();
  EXPECT_NE(r.ranks[0].output.find("missing ranks ["), std::string::npos)
      << r.Describe();  // rank 2 among them: the worker checks
}
TEST(MpiGroups, MissingRankTimesOutNamingGroupOpAndRank) {
  auto r = RunMpirun(3, "mpi", {"--scenario", "missing"}, 60s);
  EXPECT_TRUE(r.AllOk()) << r.Describe();
  EXPECT_NE(r.ranks[0].output.find("missing ranks ["), std::string::npos)
      << r.Describe();  // rank 2 among them: the worker checks
}

TEST(UcxGroups, DeviceMeshAndSubsetGroups8) {
  auto r = RunUcx(8, {"--scenario", "mesh"});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}
TEST(UcxGroups, DeviceMeshAndSubsetGroups4) {
  auto r = RunUcx(4, {"--scenario", "mesh"});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}
TEST(MpiGroups, DeviceMeshAndSubsetGroups8) {
  auto r = RunMpirun(8, "mpi", {"--scenario", "mesh"});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}

TEST(UcxGroups, CollectiveProgressesWithoutWait) {
  auto r = RunUcx(2, {"--scenario", "overlap"});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}
TEST(UcxGroups, CollectiveProgressesWithoutWaitUcxMessages) {
  auto r = RunUcx(2, {"--scenario", "overlap"}, 240s, kUcxMessages);
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}
TEST(MpiGroups, CollectiveProgressesWithoutWait) {
  auto r = RunMpirun(2, "mpi", {"--scenario", "overlap"});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}

}  // namespace
}  // namespace ogai
