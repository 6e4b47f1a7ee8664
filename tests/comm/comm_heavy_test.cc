// Heavy multi-process cases (ctest -L heavy): 16M+ element sweeps on 8 oversubscribed ranks.
// Not part of the default run's time budget; see docs/comm.md.
#include <gtest/gtest.h>

#include "store/server.h"
#include "tests/comm/spawner.h"

namespace ogai {
namespace {

using namespace std::chrono_literals;

TEST(CommHeavy, UcxSweep8Ranks16M) {
  auto server = store::StoreServer::Start("127.0.0.1", 0, "heavy");
  ASSERT_TRUE(server.ok());
  auto r = ::ogai::testing::SpawnRanks(
      8, {OGAI_COMM_WORKER, "--backend", "ucx", "--scenario", "sweep", "--large", "16777259"},
      {"OGAI_TEST_STORE_PORT=" + std::to_string((*server)->port()), "OGAI_TEST_STORE_TOKEN=heavy"}, 1500s);
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}

TEST(CommHeavy, MpiSweep4Ranks16M) {
  auto r =
      ::ogai::testing::RunCommand({OGAI_MPIEXEC, "-np", "4", "--oversubscribe", "--bind-to", "none", OGAI_COMM_WORKER,
                                   "--backend", "mpi", "--scenario", "sweep", "--large", "16777259"},
                                  {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"}, 1500s);
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}

}  // namespace
}  // namespace ogai
