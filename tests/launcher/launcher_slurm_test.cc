// ogai-run and the worker library under a real Slurm. The test command (scripts/test.sh)
// starts a private single-node Slurm (scripts/testenv/slurm.sh: munged, slurmctld,
// slurmd -N localhost) and exports SLURM_CONF; without it these tests skip. ctest label:
// slurm (`ctest -L slurm`).
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "tests/launcher/run_util.h"
#include "tests/util/job.h"

namespace ogai::launch::testing {
namespace {

namespace fs = std::filesystem;
using ogai::testing::ReadText;

class SlurmRun : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* conf = std::getenv("SLURM_CONF");
    if (conf == nullptr || !fs::exists(conf)) {
      GTEST_SKIP() << "no test Slurm: SLURM_CONF is not set (scripts/test.sh starts one with "
                      "scripts/testenv/slurm.sh)";
    }
    auto ping = RunCommand({"scontrol", "ping"}, {}, 30);
    if (ping.code != 0 || ping.out.find("UP") == std::string::npos) {
      GTEST_SKIP() << "the Slurm at " << conf << " does not answer: " << ping.out << ping.err;
    }
    mark_ = NewMark();
    dir_ = fs::path(::testing::TempDir()) / ("ogai-slurm-" + mark_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  struct JobEnd {
    std::string state;
    std::string exit_code;  // "N:S"
    std::string output;
  };

  // Submits examples/sbatch.sh with `sbatch_flags` and script arguments `args`, then waits
  // (bounded) for the job to end.
  JobEnd Submit(std::vector<std::string> sbatch_flags, std::vector<std::string> args, double timeout = 240) {
    fs::path out = dir_ / "job.out";
    std::vector<std::string> argv = {"sbatch", "--parsable", "--chdir=" + SourceDir(), "--output=" + out.string(),
                                     "--export=ALL,OGAI_RUN=" + BinDir() + "/ogai-run"};
    argv.insert(argv.end(), sbatch_flags.begin(), sbatch_flags.end());
    argv.push_back(SourceDir() + "/examples/sbatch.sh");
    argv.insert(argv.end(), args.begin(), args.end());
    auto sub = RunCommand(argv, {}, 60);
    JobEnd end;
    if (sub.code != 0) {
      ADD_FAILURE() << "sbatch failed: " << sub.err;
      return end;
    }
    std::string id = sub.out.substr(0, sub.out.find_first_of(";\n"));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    while (std::chrono::steady_clock::now() < deadline) {
      auto show = RunCommand({"scontrol", "show", "job", "-o", id}, {}, 30);
      auto field = [&](const std::string& k) {
        size_t p = show.out.find(" " + k + "=");
        if (p == std::string::npos) return std::string();
        p += k.size() + 2;
        return show.out.substr(p, show.out.find(' ', p) - p);
      };
      std::string state = field("JobState");
      if (state == "COMPLETED" || state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" ||
          state == "NODE_FAIL" || state == "OUT_OF_MEMORY") {
        end.state = state;
        end.exit_code = field("ExitCode");
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (end.state.empty()) {
      RunCommand({"scancel", id}, {}, 30);
      ADD_FAILURE() << "job " << id << " did not end within " << timeout << " s";
    }
    end.output = ReadText(out);
    return end;
  }

  std::string mark_;
  fs::path dir_;
};

TEST_F(SlurmRun, SbatchScriptStartsOneAgentPerNodeAndRunsTheJob) {
  auto end = Submit({"--nodes=1", "--ntasks-per-node=2"},
                    {"-x", "OGAI_TEST_MARK=" + mark_, "--", BinDir() + "/rank_helper", "contract"});
  EXPECT_EQ(end.state, "COMPLETED") << end.output;
  EXPECT_EQ(end.exit_code, "0:0") << end.output;
  EXPECT_EQ(LinesWith(end.output, "contract rank 0/2 (local 0/2, node 0/1) via ogai-run").size(), 1u) << end.output;
  EXPECT_EQ(LinesWith(end.output, "contract rank 1/2").size(), 1u) << end.output;
  // The ranks' parent is the agent srun started, not the batch script's ogai-run.
  EXPECT_EQ(ReadyField(end.output, 0, "ppid"), ReadyField(end.output, 1, "ppid"));
  EXPECT_TRUE(Survivors(mark_, 2.0).empty());
}

TEST_F(SlurmRun, FailingRankFailsTheJobWithItsCode) {
  auto end = Submit({"--nodes=1", "--ntasks-per-node=3"},
                    {"-x", "OGAI_TEST_MARK=" + mark_, "--", "sh", "-c", "if [ $RANK = 1 ]; then exit 6; fi; sleep 60"});
  EXPECT_EQ(end.state, "FAILED") << end.output;
  EXPECT_EQ(end.exit_code, "6:0") << end.output;
  EXPECT_NE(end.output.find("job failed: rank 1 (node 0, localhost) exited with code 6"), std::string::npos)
      << end.output;
  auto left = Survivors(mark_, 5.0);
  EXPECT_TRUE(left.empty()) << Describe(left);
}

TEST_F(SlurmRun, SbatchScriptRunsATrainingJob) {
  if (!fs::exists(BinDir() + "/ogai-worker")) GTEST_SKIP() << "ogai-worker is not built";
  auto end = Submit({}, {"examples/tiny.yaml", "train.steps=3", "train.log_every=1"});
  EXPECT_EQ(end.state, "COMPLETED") << end.output;
  EXPECT_EQ(end.exit_code, "0:0") << end.output;
  EXPECT_NE(end.output.find("step 3/3"), std::string::npos) << end.output;
}

TEST_F(SlurmRun, SrunStartsTheWorkerDirectly) {
  auto r = RunCommand({"srun", "--ntasks=2", BinDir() + "/rank_helper", "contract"}, {}, 120);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(LinesWith(r.out, "contract rank 0/2 (local 0/2, node 0/1) via srun").size(), 1u) << r.out;
  EXPECT_EQ(LinesWith(r.out, "contract rank 1/2 (local 1/2, node 0/1) via srun").size(), 1u) << r.out;
}

TEST_F(SlurmRun, SrunPmixRunsAnMpiProgram) {
  auto r = RunCommand({"srun", "--mpi=pmix", "--ntasks=2", BinDir() + "/mpi_allreduce", "2"}, {}, 120);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(LinesWith(r.out, "of 2 sum 1 ok").size(), 2u) << r.out;
}

// The store address each rank of an srun step joined ("joined rank R/N store HOST:PORT ...").
std::vector<std::string> JoinedStores(const std::string& out) {
  std::vector<std::string> v;
  for (const std::string& l : LinesWith(out, "joined rank ")) {
    size_t p = l.find(" store ");
    if (p != std::string::npos) v.push_back(l.substr(p + 7, l.find(' ', p + 7) - p - 7));
  }
  return v;
}

TEST_F(SlurmRun, SrunPmixPublishesAPortTheKernelChose) {
  // Without MASTER_PORT, rank 0 listens on a free port and tells the others through PMIx;
  // the store works (every rank reads the sum of all ranks' numbers back).
  auto r = RunCommand({"srun", "--mpi=pmix", "--ntasks=3", BinDir() + "/srun_store_helper"}, {}, 120);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto stores = JoinedStores(r.out);
  ASSERT_EQ(stores.size(), 3u) << r.out;
  EXPECT_EQ(stores[0], stores[1]);
  EXPECT_EQ(stores[0], stores[2]);
  EXPECT_EQ(LinesWith(r.out, " sum 3").size(), 3u) << r.out;
}

TEST_F(SlurmRun, SrunPmixTrainsWithoutMasterPortOrToken) {
  // ogai-worker itself, two ranks, nothing but srun's environment: the store's port and a
  // random token come from rank 0 through PMIx.
  if (!fs::exists(BinDir() + "/ogai-worker")) GTEST_SKIP() << "ogai-worker is not built";
  auto r = RunCommand({"srun", "--mpi=pmix", "--ntasks=2", "--chdir=" + dir_.string(), BinDir() + "/ogai-worker",
                       SourceDir() + "/examples/tiny.yaml", "train.steps=2", "train.log_every=1", "parallel.dp=2"},
                      {}, 240);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("step 2/2"), std::string::npos) << r.out << r.err;
}

TEST_F(SlurmRun, TwoSrunStepsOfOneJobDoNotCollide) {
  // Two steps of one allocation share SLURM_JOB_ID: a port derived from the job id would be
  // the same for both, and the second step's rank 0 could not listen (or its ranks would
  // reach the first step's store). Each step must get its own store and finish.
  const std::string helper = BinDir() + "/srun_store_helper";
  const std::string a = (dir_ / "a.out").string(), b = (dir_ / "b.out").string();
  const std::string step = "srun --mpi=pmix --ntasks=2 --exact " + helper + " 3 >";
  const std::string script = step + a + " 2>&1 & pa=$!; " + step + b +
                             " 2>&1 & pb=$!; wait $pa; ca=$?; wait $pb; cb=$?; echo \"codes $ca $cb\"";
  fs::path out = dir_ / "job.out";
  // A token given, as a user would for the old per-job port: the steps differ only in where they listen.
  auto sub = RunCommand({"sbatch", "--parsable", "--wait", "--ntasks=4", "--output=" + out.string(), "--wrap", script},
                        {"OGAI_STORE_TOKEN=" + mark_}, 240);
  ASSERT_EQ(sub.code, 0) << sub.out << sub.err << ReadText(out.string());
  EXPECT_NE(ReadText(out.string()).find("codes 0 0"), std::string::npos) << ReadText(out.string());
  auto sa = JoinedStores(ReadText(a)), sb = JoinedStores(ReadText(b));
  ASSERT_EQ(sa.size(), 2u) << ReadText(a);
  ASSERT_EQ(sb.size(), 2u) << ReadText(b);
  EXPECT_EQ(sa[0], sa[1]);
  EXPECT_EQ(sb[0], sb[1]);
  EXPECT_NE(sa[0], sb[0]) << "both steps used the store at " << sa[0];
  EXPECT_EQ(LinesWith(ReadText(a), " sum 1").size(), 2u) << ReadText(a);
  EXPECT_EQ(LinesWith(ReadText(b), " sum 1").size(), 2u) << ReadText(b);
}

TEST_F(SlurmRun, StoreThatCannotStartFailsEveryRankAtOnce) {
  // MASTER_ADDR names an address this node does not have (TEST-NET-1): rank 0 cannot listen,
  // says why, and tells the others through PMIx instead of leaving them in the fence.
  auto r =
      RunCommand({"srun", "--mpi=pmix", "--ntasks=2", BinDir() + "/srun_store_helper"}, {"MASTER_ADDR=192.0.2.1"}, 120);
  EXPECT_EQ(r.code, 4) << r.out << r.err;
  EXPECT_LT(r.seconds, 50.0) << "the ranks waited for the fence's timeout";
  EXPECT_EQ(LinesWith(r.err, "rank 0 starting the store on 192.0.2.1").size(), 2u) << r.err;
  EXPECT_EQ(LinesWith(r.err, "no store for this srun step").size(), 1u) << r.err;
}

TEST_F(SlurmRun, SrunWithoutPmixOrMasterPortSaysHowToFixIt) {
  auto r = RunCommand({"srun", "--mpi=none", "--ntasks=2", BinDir() + "/srun_store_helper"}, {}, 120);
  EXPECT_NE(r.code, 0) << r.out << r.err;
  EXPECT_EQ(LinesWith(r.err, "start the step with `srun --mpi=pmix`, or set MASTER_PORT").size(), 2u) << r.err;
}

TEST_F(SlurmRun, SrunKeepsAGivenMasterPort) {
  const int port = 20000 + static_cast<int>(::getpid() % 20000);
  auto r = RunCommand({"srun", "--mpi=none", "--ntasks=2", BinDir() + "/srun_store_helper"},
                      {"MASTER_PORT=" + std::to_string(port), "OGAI_STORE_TOKEN=" + mark_}, 120);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto stores = JoinedStores(r.out);
  ASSERT_EQ(stores.size(), 2u) << r.out;
  EXPECT_EQ(stores[0], "localhost:" + std::to_string(port));
  EXPECT_EQ(stores[1], stores[0]);
}

}  // namespace
}  // namespace ogai::launch::testing
