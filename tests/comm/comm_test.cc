// Multi-process tests of the process groups: real rank processes started by the spawner
// (ucx, bootstrapped through a store) or by mpirun (mpi, and ucx bootstrapped through MPI).
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "runtime/store/server.h"
#include "tests/comm/spawner.h"

namespace ogai {
namespace {

using namespace std::chrono_literals;
using ::ogai::testing::SpawnResult;

const char* kWorker = OGAI_COMM_WORKER;

SpawnResult RunUcx(int n, const std::vector<std::string>& args, std::chrono::seconds timeout = 240s) {
  auto server = store::StoreServer::Start("127.0.0.1", 0, "comm-test-token");
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  std::vector<std::string> argv = {kWorker, "--backend", "ucx"};
  argv.insert(argv.end(), args.begin(), args.end());
  return ::ogai::testing::SpawnRanks(
      n, argv, {"OGAI_TEST_STORE_PORT=" + std::to_string((*server)->port()), "OGAI_TEST_STORE_TOKEN=comm-test-token"},
      timeout);
}

SpawnResult RunMpirun(int n, const std::string& backend, const std::vector<std::string>& args,
                      std::chrono::seconds timeout = 240s) {
  std::vector<std::string> argv = {OGAI_MPIEXEC, "-np", std::to_string(n), "--oversubscribe", "--bind-to", "none",
                                   "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo",
                                   kWorker, "--backend", backend};
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
TEST(MpiGroups, Determinism) {
  auto r = RunMpirun(3, "mpi", {"--scenario", "determinism"});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}

TEST(UcxGroups, MissingRankFailsOthersWithinTimeout) {
  auto r = RunUcx(3, {"--scenario", "missing"}, 60s);
  EXPECT_TRUE(r.AllOk()) << r.Describe();
  EXPECT_NE(r.ranks[0].output.find("missing ranks [2]"), std::string::npos) << r.Describe();
}
TEST(MpiGroups, MissingRankFailsOthersWithinTimeout) {
  auto r = RunMpirun(3, "mpi", {"--scenario", "missing"}, 60s);
  EXPECT_TRUE(r.AllOk()) << r.Describe();
  EXPECT_NE(r.ranks[0].output.find("missing ranks [2]"), std::string::npos) << r.Describe();
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
TEST(MpiGroups, CollectiveProgressesWithoutWait) {
  auto r = RunMpirun(2, "mpi", {"--scenario", "overlap"});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}

}  // namespace
}  // namespace ogai
