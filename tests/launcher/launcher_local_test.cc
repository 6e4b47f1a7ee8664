// End-to-end tests of ogai-run on this machine: real ranks, real signals. After each run the
// test checks that no process of the job is left (every rank carries OGAI_TEST_MARK=<mark>
// in its environment through -x, and so does anything it starts).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "tests/launcher/run_util.h"
#include "tests/util/job.h"

namespace ogai::launch::testing {
namespace {

namespace fs = std::filesystem;

std::string OgaiRun() { return BinDir() + "/ogai-run"; }
std::string Helper() { return BinDir() + "/rank_helper"; }

// ogai-run <flags> -x OGAI_TEST_MARK=<mark> -- <program...>
std::vector<std::string> Cmd(const std::string& mark, std::vector<std::string> flags,
                             std::vector<std::string> program) {
  std::vector<std::string> argv = {OgaiRun()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back("-x");
  argv.push_back("OGAI_TEST_MARK=" + mark);
  argv.push_back("--");
  argv.insert(argv.end(), program.begin(), program.end());
  return argv;
}

#define EXPECT_NOTHING_LEFT(mark)                                      \
  do {                                                                 \
    auto left_ = Survivors(mark, 0.0);                                 \
    EXPECT_TRUE(left_.empty()) << "left running: " << Describe(left_); \
  } while (0)

bool AllReady(const std::string& out, int n) {
  for (int r = 0; r < n; ++r)
    if (ReadyField(out, r, "pid") <= 0) return false;
  return true;
}

TEST(LocalRun, ExitCodeIsTheFailingRanksAndNamesIt) {
  std::string mark = NewMark();
  auto r = RunCommand(Cmd(mark, {"-np", "4"}, {"sh", "-c", "exit $((RANK==2 ? 7 : 0))"}));
  EXPECT_EQ(r.code, 7) << r.err;
  EXPECT_NE(r.err.find("rank 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("exit code:  7"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pid:"), std::string::npos) << r.err;
  EXPECT_NOTHING_LEFT(mark);
}

// Every rank warns the same thing, one rank something else: ogai-run prints the shared
// warning once naming the ranks and the other as it came.
TEST(LocalRun, IdenticalWarningsOfRanksArePrintedOnceNamingThem) {
  std::string mark = NewMark();
  auto r = RunCommand(Cmd(mark, {"-np", "4"},
                          {"sh", "-c",
                           "echo \"[ogai-worker rank $RANK] W: the same for all\" >&2; "
                           "if [ $RANK = 2 ]; then echo \"[ogai-worker rank 2] W: only two\" >&2; fi"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(LinesWith(r.err, "the same for all"),
            std::vector<std::string>{"[ogai-worker ranks 0-3] W: the same for all"})
      << r.err;
  EXPECT_EQ(LinesWith(r.err, "only two"), std::vector<std::string>{"[ogai-worker rank 2] W: only two"}) << r.err;
  EXPECT_NOTHING_LEFT(mark);
}

// --dry-run prints the plan of a training job and starts nothing: no rank, no checkpoint
// folder, no metrics file. After a real run it names the checkpoint it would resume from.
TEST(LocalRun, DryRunPrintsThePlanAndStartsNothing) {
  if (!fs::exists(BinDir() + "/ogai-worker")) GTEST_SKIP() << "ogai-worker is not built";
  ogai::testing::TempDir d("ogai_dry_run");
  const std::vector<std::string> job = {SourceDir() + "/examples/tiny.yaml", "train.steps=10",
                                        "checkpoint.dir=" + d.path() + "/ck",
                                        "train.metrics_file=" + d.path() + "/m.jsonl"};
  auto args = [&](std::vector<std::string> head, std::vector<std::string> tail) {
    head.insert(head.begin(), OgaiRun());
    head.insert(head.end(), job.begin(), job.end());
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  };
  auto r = RunCommand(args({"--dry-run", "-np", "2"}, {"parallel.dp=2"}));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("nothing is started"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ranks:   2 ranks on 1 node"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("layout:  dp 2 x tp 1 x pp 1 = 2 ranks"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("global_batch 8 = micro_batch 2 x grad_accum 2 x dp 2"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(model: .*: [0-9,]+ parameters)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(memory:  [0-9.]+ [KMG]iB per rank, estimated)"))) << r.out;
  EXPECT_NE(r.out.find("resume:  nothing yet: no committed checkpoint in " + d.path() + "/ck"), std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(d / "ck"));
  EXPECT_FALSE(fs::exists(d / "m.jsonl"));

  auto run = RunCommand(args({"-np", "2"}, {"parallel.dp=2"}));
  ASSERT_EQ(run.code, 0) << run.err;
  auto again = RunCommand(args({"--dry-run", "-np", "2"}, {"parallel.tp=2", "train.steps=20"}));
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("resume:  " + d.path() +
                           "/ck/step_00000010 at step 10 (saved at dp 2 x tp 1 x pp 1, resharded to this layout)"),
            std::string::npos)
      << again.out;

  // A layout the ranks cannot hold is the error the job would stop with.
  auto bad = RunCommand(args({"--dry-run", "-np", "3"}, {"parallel.dp=2"}));
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("but the job has 3 ranks"), std::string::npos) << bad.err;
  // A real run refuses it before starting anything: the launcher's line, no rank's.
  bad = RunCommand(args({"-np", "3"}, {"parallel.dp=2"}));
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("[ogai-run] E: InvalidArgument: parallel.dp x parallel.tp x parallel.pp = 2 x 1 x 1 = 2 "
                         "but the job has 3 ranks; start 2 ranks (-np)"),
            std::string::npos)
      << bad.err;
  EXPECT_EQ(bad.err.find("ogai-worker"), std::string::npos) << bad.err;
}

TEST(LocalRun, EveryRankGetsTheContract) {
  std::string mark = NewMark();
  auto r = RunCommand(Cmd(mark, {"-np", "3"},
                          {Helper(), "env", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "NODE_RANK",
                           "MASTER_ADDR", "MASTER_PORT", "OGAI_RESTART_COUNT"}));
  ASSERT_EQ(r.code, 0) << r.err;
  for (int k = 0; k < 3; ++k) {
    std::string p = "rank " + std::to_string(k) + " ";
    EXPECT_EQ(LinesWith(r.out, p + "RANK=" + std::to_string(k)).size(), 1u) << r.out;
    EXPECT_EQ(LinesWith(r.out, p + "LOCAL_RANK=" + std::to_string(k)).size(), 1u) << r.out;
    EXPECT_EQ(LinesWith(r.out, p + "WORLD_SIZE=3").size(), 1u) << r.out;
    EXPECT_EQ(LinesWith(r.out, p + "LOCAL_WORLD_SIZE=3").size(), 1u) << r.out;
    EXPECT_EQ(LinesWith(r.out, p + "NODE_RANK=0").size(), 1u) << r.out;
    EXPECT_EQ(LinesWith(r.out, p + "MASTER_ADDR=127.0.0.1").size(), 1u) << r.out;
    EXPECT_EQ(LinesWith(r.out, p + "OGAI_RESTART_COUNT=0").size(), 1u) << r.out;
  }
  EXPECT_EQ(LinesWith(r.out, "MASTER_PORT=<unset>").size(), 0u);
  EXPECT_NOTHING_LEFT(mark);
}

TEST(LocalRun, WorkerLibraryReadsTheContract) {
  std::string mark = NewMark();
  auto r = RunCommand(Cmd(mark, {"-np", "2"}, {Helper(), "contract"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(LinesWith(r.out, "contract rank 0/2 (local 0/2, node 0/1) via ogai-run").size(), 1u) << r.out;
  EXPECT_EQ(LinesWith(r.out, "contract rank 1/2").size(), 1u) << r.out;
  EXPECT_EQ(LinesWith(r.out, "token=yes").size(), 2u) << r.out;
}

TEST(LocalRun, RankKilledBySignal) {
  std::string mark = NewMark();
  auto c = Child::Start(Cmd(mark, {"-np", "3", "--tag-output"}, {Helper(), "sleep", "60"}));
  ASSERT_TRUE(c->WaitForStdout([](const std::string& o) { return AllReady(o, 3); }, 30)) << c->out() << c->err();
  long pid = ReadyField(c->out(), 1, "pid");
  ASSERT_GT(pid, 0);
  ::kill(static_cast<pid_t>(pid), SIGKILL);
  int code = c->Wait(30);
  EXPECT_EQ(code, 128 + SIGKILL) << c->err();
  EXPECT_NE(c->err().find("rank 1"), std::string::npos) << c->err();
  EXPECT_NE(c->err().find("SIGKILL"), std::string::npos) << c->err();
  EXPECT_NOTHING_LEFT(mark);
}

TEST(LocalRun, StoppedRankIsDeclaredHung) {
  std::string mark = NewMark();
  auto c = Child::Start(Cmd(mark, {"-np", "3", "--heartbeat-timeout", "1"}, {Helper(), "heartbeat", "100000", "50"}));
  ASSERT_TRUE(c->WaitForStdout([](const std::string& o) { return AllReady(o, 3); }, 30));
  long pid = ReadyField(c->out(), 2, "pid");
  ::kill(static_cast<pid_t>(pid), SIGSTOP);
  int code = c->Wait(60);
  EXPECT_EQ(code, 124) << c->err();
  EXPECT_NE(c->err().find("rank 2"), std::string::npos) << c->err();
  EXPECT_NE(c->err().find("made no progress"), std::string::npos) << c->err();
  EXPECT_NOTHING_LEFT(mark);
}

TEST(LocalRun, DeadlockedRankIsDeclaredHungWithItsLastStep) {
  std::string mark = NewMark();
  auto r = RunCommand(
      Cmd(mark, {"-np", "2", "--heartbeat-timeout", "1"}, {Helper(), "heartbeat", "100000", "20", "1", "5"}));
  EXPECT_EQ(r.code, 124) << r.err;
  EXPECT_NE(r.err.find("rank 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("last step 4"), std::string::npos) << r.err;
  EXPECT_NOTHING_LEFT(mark);
}

TEST(LocalRun, SlowButProgressingRankIsNotHung) {
  std::string mark = NewMark();
  auto r = RunCommand(Cmd(mark, {"-np", "2", "--heartbeat-timeout", "3"}, {Helper(), "heartbeat", "5", "500"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(LinesWith(r.out, "done 5 steps").size(), 2u) << r.out;
}

TEST(LocalRun, CtrlCIsForwardedToEveryRank) {
  std::string mark = NewMark();
  auto c = Child::Start(Cmd(mark, {"-np", "3"}, {Helper(), "sleep", "60"}));
  ASSERT_TRUE(c->WaitForStdout([](const std::string& o) { return AllReady(o, 3); }, 30));
  c->Signal(SIGINT);
  int code = c->Wait(30);
  EXPECT_EQ(code, 128 + SIGINT) << c->err();
  EXPECT_NE(c->err().find("stopped by SIGINT"), std::string::npos) << c->err();
  EXPECT_NOTHING_LEFT(mark);
}

TEST(LocalRun, SecondCtrlCKillsAtOnce) {
  std::string mark = NewMark();
  auto c = Child::Start(Cmd(mark, {"-np", "2", "--grace", "120"}, {Helper(), "ignore-term", "120"}));
  ASSERT_TRUE(c->WaitForStdout([](const std::string& o) { return LinesWith(o, "ignores SIGTERM").size() == 2; }, 30));
  c->Signal(SIGINT);
  // The ranks ignore it; ogai-run waits for the grace period...
  EXPECT_FALSE(c->WaitForStdout([](const std::string&) { return false; }, 0.5));
  c->Signal(SIGINT);
  // ...until the second Ctrl-C. Generous bound: far below the 120 s grace.
  int code = c->Wait(30);
  EXPECT_EQ(code, 128 + SIGINT) << c->err();
  EXPECT_LT(c->seconds(), 60);
  EXPECT_NE(c->err().find("again"), std::string::npos) << c->err();
  EXPECT_NOTHING_LEFT(mark);
}

TEST(LocalRun, SigkillAfterGraceForRanksIgnoringSigterm) {
  std::string mark = NewMark();
  std::string script = "if [ $RANK = 0 ]; then sleep 0.5; exit 3; fi; exec " + Helper() + " ignore-term 120";
  auto r = RunCommand(Cmd(mark, {"-np", "2", "--grace", "1"}, {"sh", "-c", script}), {}, 60);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_LT(r.seconds, 60);
  EXPECT_NOTHING_LEFT(mark);
}

TEST(LocalRun, OrphansOfRanksAreKilled) {
  std::string mark = NewMark();
  auto r = RunCommand(Cmd(mark, {"-np", "2"}, {Helper(), "orphan", "120"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NOTHING_LEFT(mark);
}

TEST(LocalRun, NothingSurvivesALauncherKilledWithSigkill) {
  std::string mark = NewMark();
  std::string script = Helper() + " --quiet orphan 120; exec " + Helper() + " sleep 120";
  auto c = Child::Start(Cmd(mark, {"-np", "2"}, {"sh", "-c", script}));
  ASSERT_TRUE(c->WaitForStdout([](const std::string& o) { return AllReady(o, 2); }, 30));
  ASSERT_FALSE(Survivors(mark).empty());
  ::kill(c->pid(), SIGKILL);
  c->Wait(10);
  // The orphan guard cleans up on its own; give it a moment (it polls every 0.1 s).
  auto left = Survivors(mark, 10.0);
  EXPECT_TRUE(left.empty()) << "left running: " << Describe(left);
}

TEST(LocalRun, ExportsVariablesWithX) {
  std::string mark = NewMark();
  auto r = RunCommand(Cmd(mark, {"-np", "2", "-x", "FOO=bar baz", "-x", "OGAI_T_FROM_HERE"},
                          {Helper(), "env", "FOO", "OGAI_T_FROM_HERE", "OGAI_T_NOT_EXPORTED"}),
                      {"OGAI_T_FROM_HERE=here", "OGAI_T_NOT_EXPORTED_X=1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(LinesWith(r.out, "FOO=bar baz").size(), 2u) << r.out;
  EXPECT_EQ(LinesWith(r.out, "OGAI_T_FROM_HERE=here").size(), 2u) << r.out;
}

TEST(LocalRun, TaggedLinesAreNeverSplit) {
  std::string mark = NewMark();
  const int kLines = 100, kLen = 600, kRanks = 4;
  auto r = RunCommand(Cmd(mark, {"-np", std::to_string(kRanks), "--tag-output"},
                          {Helper(), "--quiet", "chunks", std::to_string(kLines), std::to_string(kLen)}));
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<int> per_rank(kRanks, 0);
  std::istringstream in(r.out);
  std::string line;
  int bad = 0;
  while (std::getline(in, line)) {
    std::smatch m;
    static const std::regex re(R"(^\[(\d+)\] rank(\d+):([a-z]+):end$)");
    if (!std::regex_match(line, m, re) || m[1] != m[2] || m[3].length() != kLen) {
      if (++bad < 3) ADD_FAILURE() << "mangled line: " << line.substr(0, 120);
      continue;
    }
    ++per_rank[std::stoi(m[1])];
  }
  EXPECT_EQ(bad, 0);
  for (int k = 0; k < kRanks; ++k) EXPECT_EQ(per_rank[k], kLines) << "rank " << k;
}

TEST(LocalRun, TimestampsAndOutputFiles) {
  std::string mark = NewMark();
  fs::path dir = fs::path(::testing::TempDir()) / ("ogai-out-" + mark);
  auto r = RunCommand(Cmd(mark, {"-np", "2", "--timestamp-output", "--tag-output", "--output-filename", dir.string()},
                          {"sh", "-c", "echo out$RANK; echo err$RANK >&2"}));
  ASSERT_EQ(r.code, 0) << r.err;
  static const std::regex stamped(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} \[(\d)\] out\1$)");
  for (const std::string& l : LinesWith(r.out, "out")) EXPECT_TRUE(std::regex_match(l, stamped)) << l;
  EXPECT_EQ(LinesWith(r.out, "out").size(), 2u);
  for (int k = 0; k < 2; ++k) {
    std::ifstream o(dir / ("rank." + std::to_string(k)) / "stdout");
    std::ifstream e(dir / ("rank." + std::to_string(k)) / "stderr");
    std::string ol, el;
    std::getline(o, ol);
    std::getline(e, el);
    EXPECT_NE(ol.find("out" + std::to_string(k)), std::string::npos) << ol;
    EXPECT_NE(el.find("err" + std::to_string(k)), std::string::npos) << el;
  }
  fs::remove_all(dir);
}

TEST(LocalRun, RootCauseShowsTheLastStderrLines) {
  std::string mark = NewMark();
  auto r = RunCommand(Cmd(mark, {"-np", "2"}, {Helper(), "stderr-then-exit", "4", "1"}));
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_NE(r.err.find("| problem line 3 of rank 1"), std::string::npos) << r.err;
  EXPECT_NOTHING_LEFT(mark);
}

TEST(LocalRun, RestartsTheWholeGroup) {
  std::string mark = NewMark();
  auto r = RunCommand(Cmd(mark, {"-np", "2", "--max-restarts", "2"}, {Helper(), "restart-fail", "5", "2"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("restarting the group (restart 1 of 2)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("restart 2 of 2"), std::string::npos) << r.err;
  for (int round = 0; round <= 2; ++round) {
    // Both ranks start in every round (rank 1 may be stopped before it prints in the
    // failed rounds, so only the last round is certain to have both).
    EXPECT_GE(LinesWith(r.out, "rank 0 restart " + std::to_string(round)).size(), 1u) << r.out;
  }
  EXPECT_EQ(LinesWith(r.out, "rank 1 restart 2").size(), 1u) << r.out;
  EXPECT_NOTHING_LEFT(mark);
}

TEST(LocalRun, GivesUpWhenRestartsRunOut) {
  std::string mark = NewMark();
  auto r = RunCommand(Cmd(mark, {"-np", "2", "--max-restarts", "1"}, {Helper(), "restart-fail", "5", "9"}));
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_NE(r.err.find("restart 1 of 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("job failed: rank 0"), std::string::npos) << r.err;
  EXPECT_NOTHING_LEFT(mark);
}

TEST(LocalRun, BindToCorePinsEachRank) {
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 2) GTEST_SKIP() << "needs 2 CPUs, this machine has " << cpus;
  std::string mark = NewMark();
  auto r = RunCommand(Cmd(mark, {"-np", "2", "--bind-to", "core", "--tag-output"},
                          {"sh", "-c", "grep Cpus_allowed_list /proc/self/status"}));
  ASSERT_EQ(r.code, 0) << r.err;
  auto l0 = LinesWith(r.out, "[0] ");
  auto l1 = LinesWith(r.out, "[1] ");
  ASSERT_EQ(l0.size(), 1u);
  ASSERT_EQ(l1.size(), 1u);
  EXPECT_NE(l0[0].substr(l0[0].rfind('\t') + 1), l1[0].substr(l1[0].rfind('\t') + 1)) << r.out;
  auto over = RunCommand(Cmd(mark, {"-np", std::to_string(cpus + 1), "--bind-to", "core"}, {"true"}));
  EXPECT_NE(over.code, 0);
  EXPECT_NE(over.err.find("--oversubscribe"), std::string::npos) << over.err;
}

// ---- bad input: one clear error, nothing started -------------------------------------------

struct BadInput {
  std::vector<std::string> flags;
  std::string hostfile;  // written to a temp file and passed with --hostfile when not empty
  std::string expect;
};

TEST(LocalRun, BadInputIsOneClearErrorAndStartsNothing) {
  fs::path tmp = fs::path(::testing::TempDir()) / ("ogai-bad-" + NewMark());
  fs::create_directories(tmp);
  fs::path witness = tmp / "ran";
  std::vector<BadInput> cases = {
      {{"--tag-outptu"}, "", "unknown flag '--tag-outptu' (did you mean --tag-output?)"},
      {{"-np", "x"}, "", "expects a whole number"},
      {{}, "localhost slots=2\nnode2 cpus=4\n", ":2: unknown attribute 'cpus'"},
      {{"-np", "3", "-H", "localhost:2"}, "", "add --oversubscribe"},
      {{"-x", "OGAI_T_SURELY_UNSET_VAR"}, "", "OGAI_T_SURELY_UNSET_VAR is not set"},
      {{"-H", "localhost", "--hostfile", "/dev/null"}, "", "either --host or --hostfile"},
      {{"--nnodes", "3", "-H", "localhost:2"}, "", "--nnodes asks for at least 3 nodes"},
      {{"--hostfile", (tmp / "missing").string()}, "", "cannot read hostfile"},
  };
  for (const BadInput& c : cases) {
    std::vector<std::string> argv = {OgaiRun()};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    if (!c.hostfile.empty()) {
      fs::path hf = tmp / "hosts.txt";
      std::ofstream(hf) << c.hostfile;
      argv.push_back("--hostfile");
      argv.push_back(hf.string());
    }
    for (const char* a : {"--", "sh", "-c"}) argv.push_back(a);
    argv.push_back("touch " + witness.string());
    auto r = RunCommand(argv);
    EXPECT_EQ(r.code, 2) << c.expect << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << "wanted: " << c.expect << "\ngot: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one error line: " << r.err;
    EXPECT_FALSE(fs::exists(witness)) << "a rank ran despite: " << c.expect;
  }
  auto missing = RunCommand({OgaiRun(), "-np", "2", "--", "no-such-program-ogai"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("'no-such-program-ogai' not found in PATH"), std::string::npos) << missing.err;
  auto nothing = RunCommand({OgaiRun(), "-np", "2"});
  EXPECT_EQ(nothing.code, 2);
  EXPECT_NE(nothing.err.find("nothing to run"), std::string::npos);
  auto help = RunCommand({OgaiRun(), "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("usage: ogai-run"), std::string::npos);
  fs::remove_all(tmp);
}

TEST(LocalRun, TrainingJobNeedsOgaiWorkerNextToOgaiRun) {
  fs::path tmp = fs::path(::testing::TempDir()) / ("ogai-noworker-" + NewMark());
  fs::create_directories(tmp);
  fs::copy_file(OgaiRun(), tmp / "ogai-run");
  auto r = RunCommand({(tmp / "ogai-run").string(), SourceDir() + "/examples/tiny.yaml"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("ogai-worker not found next to ogai-run"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("build the runtime"), std::string::npos) << r.err;
  fs::remove_all(tmp);
}

TEST(LocalRun, TrainingJobRunsOgaiWorkerWithTheLaunchSection) {
  if (!fs::exists(BinDir() + "/ogai-worker")) GTEST_SKIP() << "ogai-worker is not built";
  // launch.* keys (here as overrides, as if in train.yaml's launch: section) set ogai-run's
  // flags; the command line wins over them.
  auto r = RunCommand({OgaiRun(), "--timestamp-output", SourceDir() + "/examples/tiny.yaml", "train.steps=2",
                       "train.log_every=1", "launch.tag_output=true", "launch.timestamp_output=false"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  static const std::regex line(R"(^\d{4}-\d\d-\d\dT[0-9:.]+ \[0\] step 2/2 .*)");
  bool found = false;
  for (const std::string& l : LinesWith(r.out, "step 2/2")) found |= std::regex_match(l, line);
  EXPECT_TRUE(found) << r.out;
}

}  // namespace
}  // namespace ogai::launch::testing
