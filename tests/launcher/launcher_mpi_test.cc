// An unmodified MPI program under ogai-run is one MPI job (PMIx served by the agent).
#include <gtest/gtest.h>

#include "tests/launcher/run_util.h"

namespace ogai::launch::testing {
namespace {

std::string MpiApp() { return BinDir() + "/mpi_allreduce"; }

TEST(MpiRun, FourRanksFormOneJob) {
  std::string mark = NewMark();
  auto r = RunCommand(
      {BinDir() + "/ogai-run", "-np", "4", "--tag-output", "-x", "OGAI_TEST_MARK=" + mark, "--", MpiApp(), "4"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(LinesWith(r.out, "[" + std::to_string(k) + "] mpi rank " + std::to_string(k) + " of 4 sum 6 ok").size(),
              1u)
        << r.out;
  }
  EXPECT_TRUE(Survivors(mark).empty());
}

TEST(MpiRun, MpiAbortNamesTheRank) {
  std::string mark = NewMark();
  auto r = RunCommand(
      {BinDir() + "/ogai-run", "-np", "3", "-x", "OGAI_TEST_MARK=" + mark, "--", MpiApp(), "3", "abort", "1"});
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("rank 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("MPI_Abort"), std::string::npos) << r.err;
  auto left = Survivors(mark, 0.0);
  EXPECT_TRUE(left.empty()) << Describe(left);
}

TEST(MpiRun, RestartedGroupFormsANewJob) {
  std::string mark = NewMark();
  // Round 0: rank 0 fails before MPI_Init; round 1: the whole group runs the MPI program.
  std::string script = "if [ $OGAI_RESTART_COUNT = 0 ] && [ $RANK = 0 ]; then exit 9; fi; exec " + MpiApp() + " 2";
  auto r = RunCommand({BinDir() + "/ogai-run", "-np", "2", "--max-restarts", "1", "-x", "OGAI_TEST_MARK=" + mark, "--",
                       "sh", "-c", script});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(LinesWith(r.out, "of 2 sum 1 ok").size(), 2u) << r.out;
  EXPECT_TRUE(Survivors(mark).empty());
}

}  // namespace
}  // namespace ogai::launch::testing
