// NCCL backend tests: real rank processes sharing the machine's GPU(s). Skipped without one.
#include <gtest/gtest.h>

#include "comm/nccl/nccl_process_group.h"
#include "store/server.h"
#include "tests/comm/spawner.h"

namespace ogai {
namespace {

using namespace std::chrono_literals;

::ogai::testing::SpawnResult RunNccl(int n, const std::vector<std::string>& extra) {
  auto server = store::StoreServer::Start("127.0.0.1", 0, "nccl-test");
  EXPECT_TRUE(server.ok());
  std::vector<std::string> argv = {OGAI_NCCL_WORKER};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return ::ogai::testing::SpawnRanks(
      n, argv, {"OGAI_TEST_STORE_PORT=" + std::to_string((*server)->port()), "OGAI_TEST_STORE_TOKEN=nccl-test"}, 300s);
}

TEST(Nccl, CollectivesOnTwoRanks) {
  if (comm::nccl::CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  auto r = RunNccl(2, {});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
}

TEST(Nccl, AllReduceBandwidth) {
  if (comm::nccl::CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  auto r = RunNccl(2, {"--bench"});
  EXPECT_TRUE(r.AllOk()) << r.Describe();
  std::printf("%s", r.ranks[0].output.c_str());
}

}  // namespace
}  // namespace ogai
