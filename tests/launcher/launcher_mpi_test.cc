// An unmodified MPI program under ogai-run is one MPI job (PMIx served by the agent).
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/launcher/run_util.h"
#include "tests/util/job.h"

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

// The "segment PATH" lines mpi_allreduce prints in its "segments" mode.
std::set<std::string> Segments(const std::string& out) {
  std::set<std::string> v;
  for (const std::string& l : LinesWith(out, "segment /")) v.insert(l.substr(l.find("segment /") + 8));
  return v;
}

TEST(MpiRun, AKilledRankLeavesNoSharedMemorySegments) {
  // Open MPI's shared-memory segments (vader_segment.*) of a rank killed before MPI_Finalize
  // used to stay in /dev/shm. The agent now points the ranks at a folder of the job, which it
  // removes. scripts/test.sh sets OMPI_MCA_btl_vader_backing_directory for the whole suite:
  // unset here, since this is about what ogai-run does on its own.
  std::string mark = NewMark();
  auto r = RunCommand({"env", "-u", "OMPI_MCA_btl_vader_backing_directory", "-u", "OMPI_MCA_btl_sm_backing_directory",
                       BinDir() + "/ogai-run", "-np", "2", "-x", "OGAI_TEST_MARK=" + mark, "--", MpiApp(), "2",
                       "segments", "1"});
  EXPECT_EQ(r.code, 137) << r.out << r.err;  // rank 1's SIGKILL
  EXPECT_NE(r.err.find("rank 1 (node 0, localhost) was killed by signal 9"), std::string::npos) << r.err;
  auto segs = Segments(r.out);
  ASSERT_FALSE(segs.empty()) << "the ranks mapped no shared-memory segment: " << r.out;
  for (const std::string& p : segs) {
    EXPECT_FALSE(std::filesystem::exists(p)) << p << " is left";
    EXPECT_NE(std::filesystem::path(p).parent_path(), "/dev/shm") << p;
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(p).parent_path())) << p;
  }
  EXPECT_TRUE(Survivors(mark, 5.0).empty());
}

TEST(MpiRun, RanksAnAgentStartsOverSshLeaveNoSegments) {
  // The agent on "host" 127.0.0.2 (this machine, through the test sshd) does not inherit the
  // test's environment: its ranks get the agent's folder.
  const std::string ssh = TestSshEnv();
  if (ssh.empty()) GTEST_SKIP() << kNoTestSshd;
  std::string mark = NewMark();
  auto r = RunCommand({"env", "-u", "OMPI_MCA_btl_vader_backing_directory", "-u", "OMPI_MCA_btl_sm_backing_directory",
                       BinDir() + "/ogai-run", "-H", "127.0.0.2:2", "-x", "OGAI_TEST_MARK=" + mark, "--", MpiApp(), "2",
                       "segments", "0"},
                      {ssh}, 180);
  EXPECT_EQ(r.code, 137) << r.out << r.err;
  auto segs = Segments(r.out);
  ASSERT_FALSE(segs.empty()) << r.out << r.err;
  for (const std::string& p : segs) {
    EXPECT_FALSE(std::filesystem::exists(p)) << p << " is left";
    EXPECT_NE(std::filesystem::path(p).parent_path(), "/dev/shm") << p;
  }
  EXPECT_TRUE(Survivors(mark, 5.0).empty());
}

TEST(MpiRun, ALauncherKilledWithSigkillLeavesNoSegments) {
  // The agent itself dies: its orphan guard kills the ranks and removes the segment folder.
  std::string mark = NewMark();
  auto c = ogai::testing::Child::Start({"env", "-u", "OMPI_MCA_btl_vader_backing_directory", "-u",
                                        "OMPI_MCA_btl_sm_backing_directory", BinDir() + "/ogai-run", "-np", "2", "-x",
                                        "OGAI_TEST_MARK=" + mark, "--", MpiApp(), "2", "segments", "99"});
  ASSERT_TRUE(c->WaitForStdout([](const std::string& o) { return Segments(o).size() >= 2; }, 60)) << c->out();
  auto segs = Segments(c->out());
  for (const std::string& p : segs) ASSERT_TRUE(std::filesystem::exists(p)) << p;
  ::kill(c->pid(), SIGKILL);
  c->Wait(10);
  EXPECT_TRUE(Survivors(mark, 10.0).empty());
  for (int i = 0; i < 100 && std::filesystem::exists(std::filesystem::path(*segs.begin()).parent_path()); ++i) {
    ::usleep(100 * 1000);  // the guard removes the folder after the last rank is gone
  }
  for (const std::string& p : segs) {
    EXPECT_FALSE(std::filesystem::exists(p)) << p << " is left";
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(p).parent_path())) << p;
  }
}

TEST(MpiRun, UcxPosixSegmentsGoToTheJobsFolder) {
  // UCX's posix files (ucx_shm_posix_*) of a rank killed between making one and unlinking it
  // were left in /dev/shm (seen after a test run): the ranks get UCX_POSIX_DIR in the job's
  // folder, removed with it, unless the user set one.
  std::string mark = NewMark();
  auto r = RunCommand({"env", "-u", "UCX_POSIX_DIR", BinDir() + "/ogai-run", "-np", "2", "-x", "OGAI_TEST_MARK=" + mark,
                       "--", "sh", "-c", "echo ucxdir=$UCX_POSIX_DIR"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto lines = LinesWith(r.out, "ucxdir=");
  ASSERT_EQ(lines.size(), 2u) << r.out;
  for (const std::string& l : lines) {
    const std::string dir = l.substr(l.find("ucxdir=") + 7);
    EXPECT_EQ(dir.rfind("/dev/shm/ogai-mpi.", 0), 0u) << l;
    EXPECT_FALSE(std::filesystem::exists(dir)) << dir << " is left";
  }
  ogai::testing::TempDir mine("ucx_dir");
  auto u = RunCommand({BinDir() + "/ogai-run", "-np", "1", "-x", "UCX_POSIX_DIR=" + mine.path(), "--", "sh", "-c",
                       "echo ucxdir=$UCX_POSIX_DIR"});
  ASSERT_EQ(u.code, 0) << u.out << u.err;
  EXPECT_EQ(LinesWith(u.out, "ucxdir=" + mine.path()).size(), 1u) << u.out;
  EXPECT_TRUE(Survivors(mark).empty());
}

TEST(MpiRun, AKilledRanksCommSegmentsAreRemoved) {
  // ogai's own comm segments (/dev/shm/ogai-<pid>-..., core/shm_segment.h) of a rank killed
  // before it unlinked them were left (seen after a test run): the agent removes them when it
  // reaps the rank. The rank here makes one under its own pid, then is killed.
  std::string mark = NewMark();
  auto r = RunCommand({BinDir() + "/ogai-run", "-np", "1", "-x", "OGAI_TEST_MARK=" + mark, "--", "sh", "-c",
                       "f=/dev/shm/ogai-$$-0-77; : > $f; echo made=$f; kill -9 $$"});
  EXPECT_EQ(r.code, 137) << r.out << r.err;
  auto lines = LinesWith(r.out, "made=");
  ASSERT_EQ(lines.size(), 1u) << r.out << r.err;
  const std::string f = lines[0].substr(lines[0].find("made=") + 5);
  EXPECT_FALSE(std::filesystem::exists(f)) << f << " is left";
  EXPECT_TRUE(Survivors(mark).empty());
}

TEST(MpiRun, AFolderTheUserSetForSegmentsIsKept) {
  // OMPI_MCA_btl_vader_backing_directory given (as scripts/test.sh does): the ranks use it.
  std::string mark = NewMark();
  ogai::testing::TempDir dir("mpi_shm");
  auto r = RunCommand({BinDir() + "/ogai-run", "-np", "2", "-x", "OGAI_TEST_MARK=" + mark, "-x",
                       "OMPI_MCA_btl_vader_backing_directory=" + dir.path(), "--", MpiApp(), "2", "segments", "1"});
  EXPECT_EQ(r.code, 137) << r.out << r.err;
  auto segs = Segments(r.out);
  ASSERT_FALSE(segs.empty()) << r.out;
  for (const std::string& p : segs) EXPECT_EQ(std::filesystem::path(p).parent_path(), dir.path()) << p;
  EXPECT_TRUE(Survivors(mark, 5.0).empty());
}

}  // namespace
}  // namespace ogai::launch::testing
