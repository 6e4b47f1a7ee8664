// Unit tests of ogai-run's pure parts: command line, hostfiles, placement, Slurm formats,
// the rank contract, heartbeats, output lines, failure records and the agent protocol.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "core/digest.h"
#include "launcher/failure.h"
#include "launcher/hostfile.h"
#include "launcher/node_runner.h"
#include "launcher/options.h"
#include "launcher/output.h"
#include "launcher/plan.h"
#include "launcher/protocol.h"
#include "launcher/remote.h"
#include "launcher/warning_merge.h"
#include "rank/heartbeat.h"
#include "rank/rank_env.h"
#include "rank/slurm_env.h"

namespace ogai::launch {
namespace {

std::string Msg(const Status& st) { return st.message(); }

// ---- command line ----------------------------------------------------------------------

TEST(Options, MpirunFlagsKeepMpirunMeaning) {
  auto o = ParseCommandLine({"-np",
                             "4",
                             "-H",
                             "a:2,b:2",
                             "-x",
                             "FOO=1",
                             "-x",
                             "BAR",
                             "--map-by",
                             "node",
                             "--bind-to",
                             "core",
                             "--tag-output",
                             "--timestamp-output",
                             "--output-filename",
                             "out",
                             "--oversubscribe",
                             "--",
                             "prog",
                             "--its-own-flag"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->launch.np, 4);
  EXPECT_EQ(o->launch.hosts, "a:2,b:2");
  EXPECT_EQ(o->launch.env, (std::vector<std::string>{"FOO=1", "BAR"}));
  EXPECT_EQ(o->launch.map_by, "node");
  EXPECT_EQ(o->launch.bind_to, "core");
  EXPECT_TRUE(o->launch.tag_output);
  EXPECT_TRUE(o->launch.timestamp_output);
  EXPECT_EQ(o->launch.output_filename, "out");
  EXPECT_TRUE(o->launch.oversubscribe);
  EXPECT_EQ(o->program, (std::vector<std::string>{"prog", "--its-own-flag"}));
}

TEST(Options, OneOrTwoDashesAndEqualsSign) {
  auto o = ParseCommandLine({"--np=3", "-nproc-per-node", "2", "--max-restarts=5", "--grace", "1.5",
                             "--heartbeat-timeout=30", "--master-port", "29500", "--nnodes", "1:4", "-vv", "hostname"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->launch.np, 3);
  EXPECT_EQ(o->launch.nproc_per_node, 2);
  EXPECT_EQ(o->launch.max_restarts, 5);
  EXPECT_DOUBLE_EQ(o->launch.grace, 1.5);
  EXPECT_DOUBLE_EQ(o->launch.heartbeat_timeout, 30);
  EXPECT_EQ(o->launch.master_port, 29500);
  EXPECT_EQ(o->launch.nnodes, "1:4");
  EXPECT_EQ(o->verbosity, 2);
  EXPECT_EQ(o->program, std::vector<std::string>{"hostname"});  // mpirun style, no --
}

TEST(Options, TrainYamlAndOverrides) {
  auto o = ParseCommandLine({"-np", "2", "examples/tiny.yaml", "train.steps=5", "parallel.dp=2"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->train_yaml, "examples/tiny.yaml");
  EXPECT_EQ(o->overrides, (std::vector<std::string>{"train.steps=5", "parallel.dp=2"}));
  EXPECT_TRUE(o->program.empty());
}

TEST(Options, BadInputSaysWhatAndHow) {
  auto unknown = ParseCommandLine({"--tag-outptu", "--", "x"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(Msg(unknown.status()).find("unknown flag '--tag-outptu'"), std::string::npos);
  EXPECT_NE(Msg(unknown.status()).find("did you mean --tag-output"), std::string::npos);

  auto missing = ParseCommandLine({"-np"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(Msg(missing.status()).find("needs a value"), std::string::npos);

  auto bad_n = ParseCommandLine({"-np", "four", "--", "x"});
  ASSERT_FALSE(bad_n.ok());
  EXPECT_NE(Msg(bad_n.status()).find("'four'"), std::string::npos);

  auto bad_bind = ParseCommandLine({"--bind-to", "socket", "--", "x"});
  ASSERT_FALSE(bad_bind.ok());
  EXPECT_NE(Msg(bad_bind.status()).find("core, none"), std::string::npos);

  auto bad_x = ParseCommandLine({"-x", "1BAD=2", "--", "x"});
  ASSERT_FALSE(bad_x.ok());

  auto nothing = ParseCommandLine({"-np", "2"});
  ASSERT_FALSE(nothing.ok());
  EXPECT_NE(Msg(nothing.status()).find("nothing to run"), std::string::npos);

  auto dash_only = ParseCommandLine({"--"});
  ASSERT_FALSE(dash_only.ok());

  auto junk_after_yaml = ParseCommandLine({"t.yaml", "-np", "2"});
  ASSERT_FALSE(junk_after_yaml.ok());
  EXPECT_NE(Msg(junk_after_yaml.status()).find("flags go before"), std::string::npos);

  auto nnodes = ParseCommandLine({"--nnodes", "4:2", "--", "x"});
  ASSERT_FALSE(nnodes.ok());
  EXPECT_NE(Msg(nnodes.status()).find("MIN is larger than MAX"), std::string::npos);

  auto flag_value = ParseCommandLine({"--tag-output=yes", "--", "x"});
  ASSERT_FALSE(flag_value.ok());
}

TEST(Options, CommandLineWinsOverTrainYaml) {
  auto o = ParseCommandLine({"-np", "4", "-x", "A=cli", "t.yaml"});
  ASSERT_TRUE(o.ok());
  LaunchConfig y;
  y.np = 8;
  y.grace = 3;
  y.tag_output = true;
  y.env = {"A=yaml", "B=yaml"};
  MergeLaunchConfig(*o, y);
  EXPECT_EQ(o->launch.np, 4);            // given on the command line
  EXPECT_DOUBLE_EQ(o->launch.grace, 3);  // from the file
  EXPECT_TRUE(o->launch.tag_output);
  EXPECT_EQ(o->launch.env, (std::vector<std::string>{"A=yaml", "B=yaml", "A=cli"}));
}

TEST(Options, HelpMentionsEveryFlagGroup) {
  std::string h = UsageText();
  for (const char* f :
       {"-np", "--host", "--hostfile", "-x VAR", "--map-by", "--bind-to", "--tag-output", "--timestamp-output",
        "--output-filename", "--oversubscribe", "--nnodes", "--nproc-per-node", "--max-restarts", "--master-addr",
        "--master-port", "--grace", "--heartbeat-timeout", "--rejoin-timeout"}) {
    EXPECT_NE(h.find(f), std::string::npos) << f;
  }
}

// ---- hostfiles and host lists -----------------------------------------------------------

TEST(Hostfile, OpenMpiFormatWithCommentsAndBlankLines) {
  auto h = ParseHostfile(
      "# cluster\n\nnode1 slots=4\n  node2   # one slot\nnode3 slots=2 max_slots=8\n"
      "node1 slots=2\n\t\n",
      "hosts.txt");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[0].name, "node1");
  EXPECT_EQ((*h)[0].slots, 6);  // named twice: slots add up
  EXPECT_EQ((*h)[1].name, "node2");
  EXPECT_EQ((*h)[1].slots, 1);
  EXPECT_EQ((*h)[2].slots, 2);
  EXPECT_EQ((*h)[2].max_slots, 8);
}

TEST(Hostfile, ErrorsNameFileAndLine) {
  auto bad_attr = ParseHostfile("a slots=2\nb cores=4\n", "h.txt");
  ASSERT_FALSE(bad_attr.ok());
  EXPECT_NE(Msg(bad_attr.status()).find("h.txt:2"), std::string::npos);
  EXPECT_NE(Msg(bad_attr.status()).find("unknown attribute 'cores'"), std::string::npos);

  auto bad_num = ParseHostfile("a slots=x\n", "h.txt");
  ASSERT_FALSE(bad_num.ok());
  EXPECT_NE(Msg(bad_num.status()).find("h.txt:1"), std::string::npos);

  auto zero = ParseHostfile("a slots=0\n", "h.txt");
  ASSERT_FALSE(zero.ok());

  auto empty = ParseHostfile("# nothing\n\n", "h.txt");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(Msg(empty.status()).find("names no hosts"), std::string::npos);

  auto max_below = ParseHostfile("a slots=4 max_slots=2\n", "h.txt");
  ASSERT_FALSE(max_below.ok());

  auto weird = ParseHostfile("a/b slots=1\n", "h.txt");
  ASSERT_FALSE(weird.ok());

  auto missing = ReadHostfile("/nonexistent/hosts.txt");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(Msg(missing.status()).find("/nonexistent/hosts.txt"), std::string::npos);
}

// Issue 12: a host name beginning with '-' reached ssh as an option (-Fevilcfg).
TEST(Hostfile, NamesThatAreOptionsAreRefusedAndSshGetsDashDash) {
  for (const char* bad : {"-Fevilcfg", "-oProxyCommand=x", ".hidden", "a b"}) {
    EXPECT_FALSE(ParseHostList(bad).ok()) << bad;
    EXPECT_FALSE(ParseHostfile(std::string(bad) + " slots=1\n", "h.txt").ok()) << bad;
  }
  EXPECT_TRUE(ParseHostList("node-1:2,10.0.0.2,[::1]").ok());
  const std::vector<std::string> argv = SshAgentCommand("node1", "/bin/ogai-run", 0);
  ASSERT_GE(argv.size(), 3u);
  EXPECT_EQ(argv[argv.size() - 3], "--");
  EXPECT_EQ(argv[argv.size() - 2], "node1");
}

TEST(Hostfile, HostList) {
  auto h = ParseHostList("a:4,b,c:2");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[0].slots, 4);
  EXPECT_EQ((*h)[1].slots, 1);
  EXPECT_EQ((*h)[2].slots, 2);
  EXPECT_FALSE(ParseHostList("a:0").ok());
  EXPECT_FALSE(ParseHostList("a,,b").ok());
}

TEST(Hostfile, LocalHostNames) {
  EXPECT_TRUE(IsLocalHost("localhost"));
  EXPECT_TRUE(IsLocalHost("127.0.0.1"));
  char hn[256] = {0};
  ::gethostname(hn, sizeof hn - 1);
  EXPECT_TRUE(IsLocalHost(hn));
  EXPECT_FALSE(IsLocalHost("127.0.0.2"));  // the tests' stand-in for another host
  EXPECT_FALSE(IsLocalHost("surely-not-this-machine.example"));
}

// ---- placement ---------------------------------------------------------------------------

PlanInput Hosts(std::vector<HostEntry> h) {
  PlanInput in;
  in.hosts = std::move(h);
  in.hosts_given = true;
  in.hosts_source = "--host";
  return in;
}

TEST(Plan, FillsSlotsInOrder) {
  PlanInput in = Hosts({{"a", 2, 0}, {"b", 2, 0}, {"c", 2, 0}});
  in.np = 5;
  auto p = MakeJobPlan(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->world_size, 5);
  ASSERT_EQ(p->nodes.size(), 3u);
  EXPECT_EQ(p->nodes[0].ranks, (std::vector<int>{0, 1}));
  EXPECT_EQ(p->nodes[1].ranks, (std::vector<int>{2, 3}));
  EXPECT_EQ(p->nodes[2].ranks, (std::vector<int>{4}));
}

TEST(Plan, DefaultsToAllSlotsAndDropsUnusedHosts) {
  PlanInput in = Hosts({{"a", 3, 0}, {"b", 1, 0}});
  auto all = MakeJobPlan(in);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->world_size, 4);
  in.np = 2;
  auto two = MakeJobPlan(in);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->nodes.size(), 1u);  // b gets nothing, so no agent starts there
}

TEST(Plan, MapByNodeIsRoundRobin) {
  PlanInput in = Hosts({{"a", 2, 0}, {"b", 2, 0}});
  in.np = 4;
  in.map_by = "node";
  auto p = MakeJobPlan(in);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->nodes[0].ranks, (std::vector<int>{0, 2}));
  EXPECT_EQ(p->nodes[1].ranks, (std::vector<int>{1, 3}));
}

TEST(Plan, MoreRanksThanSlotsNeedsOversubscribe) {
  PlanInput in = Hosts({{"a", 2, 0}, {"b", 2, 0}});
  in.np = 6;
  auto p = MakeJobPlan(in);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(Msg(p.status()).find("--oversubscribe"), std::string::npos);
  EXPECT_NE(Msg(p.status()).find("4"), std::string::npos);
  in.oversubscribe = true;
  auto q = MakeJobPlan(in);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->world_size, 6);
  EXPECT_EQ(q->nodes[0].ranks.size() + q->nodes[1].ranks.size(), 6u);
}

TEST(Plan, ImplicitLocalHostHasNoSlotLimit) {
  PlanInput in;
  in.np = 16;
  auto p = MakeJobPlan(in);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->nodes.size(), 1u);
  EXPECT_TRUE(p->nodes[0].local);
  EXPECT_EQ(p->world_size, 16);
  in.np = 0;
  EXPECT_EQ(MakeJobPlan(in)->world_size, 1);
}

TEST(Plan, NprocPerNodeAndNnodes) {
  PlanInput in = Hosts({{"a", 4, 0}, {"b", 4, 0}, {"c", 4, 0}});
  in.nproc_per_node = 2;
  in.min_nodes = in.max_nodes = 2;
  auto p = MakeJobPlan(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->world_size, 4);
  ASSERT_EQ(p->nodes.size(), 2u);
  EXPECT_EQ(p->nodes[1].ranks, (std::vector<int>{2, 3}));

  in.min_nodes = in.max_nodes = 5;
  auto too_many = MakeJobPlan(in);
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(Msg(too_many.status()).find("--nnodes"), std::string::npos);

  PlanInput c = Hosts({{"a", 4, 0}});
  c.nproc_per_node = 2;
  c.np = 3;
  EXPECT_FALSE(MakeJobPlan(c).ok());  // 3 ranks cannot fit 1 node x 2
  c.np = 0;
  c.nproc_per_node = 6;
  auto over = MakeJobPlan(c);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(Msg(over.status()).find("slot"), std::string::npos);
}

TEST(Plan, ShrinkKeepsOrderAndRenumbers) {
  PlanInput in = Hosts({{"a", 2, 0}, {"b", 2, 0}, {"c", 2, 0}});
  in.map_by = "node";
  in.min_nodes = 2;
  in.max_nodes = 3;
  auto p = MakeJobPlan(in);
  ASSERT_TRUE(p.ok());
  JobPlan s = ShrinkPlan(*p, {1});
  EXPECT_EQ(s.world_size, 4);
  ASSERT_EQ(s.nodes.size(), 2u);
  EXPECT_EQ(s.nodes[0].host, "a");
  EXPECT_EQ(s.nodes[1].host, "c");
  EXPECT_EQ(s.nodes[1].node_rank, 1);
  EXPECT_EQ(s.nodes[1].agent, 2);  // the agent keeps its id
  EXPECT_EQ(s.nodes[0].ranks, (std::vector<int>{0, 2}));
  EXPECT_EQ(s.nodes[1].ranks, (std::vector<int>{1, 3}));
}

// ---- Slurm formats -----------------------------------------------------------------------

TEST(SlurmEnv, ExpandsHostlists) {
  auto h = ExpandSlurmHostlist("node[01-03,7],gpu1,r[1-2]n[1-2]");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(*h,
            (std::vector<std::string>{"node01", "node02", "node03", "node7", "gpu1", "r1n1", "r1n2", "r2n1", "r2n2"}));
  EXPECT_FALSE(ExpandSlurmHostlist("node[1-").ok());
  EXPECT_FALSE(ExpandSlurmHostlist("node[3-1]").ok());
  EXPECT_FALSE(ExpandSlurmHostlist("").ok());
}

TEST(SlurmEnv, ExpandsCounts) {
  auto c = ExpandSlurmCounts("2(x3),1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, (std::vector<int>{2, 2, 2, 1}));
  EXPECT_FALSE(ExpandSlurmCounts("2(x3").ok());
  EXPECT_FALSE(ExpandSlurmCounts("a").ok());
}

// ---- the rank contract -------------------------------------------------------------------

TEST(RankEnv, NothingMeansOneRank) {
  auto r = DetectRankEnv(EnvMap{{"PATH", "/bin"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->source, RankSource::kSingle);
  EXPECT_EQ(r->rank, 0);
  EXPECT_EQ(r->world_size, 1);
  EXPECT_FALSE(r->launcher_hosts_store);
}

TEST(RankEnv, OgaiRun) {
  auto r = DetectRankEnv(EnvMap{{"RANK", "5"},
                                {"WORLD_SIZE", "8"},
                                {"LOCAL_RANK", "1"},
                                {"LOCAL_WORLD_SIZE", "4"},
                                {"NODE_RANK", "1"},
                                {"OGAI_NNODES", "2"},
                                {"MASTER_ADDR", "10.0.0.1"},
                                {"MASTER_PORT", "29500"},
                                {"OGAI_RESTART_COUNT", "2"},
                                {"OGAI_MAX_RESTARTS", "3"},
                                {"OGAI_STORE_TOKEN", "secret"},
                                {"OGAI_RUN_ID", "abc"},
                                // A stale outer srun step must not win over ogai-run.
                                {"SLURM_PROCID", "0"},
                                {"SLURM_STEP_ID", "1"},
                                {"SLURM_NTASKS", "2"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source, RankSource::kOgai);
  EXPECT_EQ(r->rank, 5);
  EXPECT_EQ(r->world_size, 8);
  EXPECT_EQ(r->local_rank, 1);
  EXPECT_EQ(r->local_world_size, 4);
  EXPECT_EQ(r->node_rank, 1);
  EXPECT_EQ(r->nnodes, 2);
  EXPECT_EQ(r->master_addr, "10.0.0.1");
  EXPECT_EQ(r->master_port, 29500);
  EXPECT_EQ(r->restart_count, 2);
  EXPECT_EQ(r->max_restarts, 3);
  EXPECT_EQ(r->store_token, "secret");
  EXPECT_TRUE(r->launcher_hosts_store);
  EXPECT_EQ(r->StorePrefix(), "r2/");
  EXPECT_NE(r->Describe().find("rank 5/8"), std::string::npos);
}

TEST(RankEnv, Mpirun) {
  auto r = DetectRankEnv(EnvMap{{"OMPI_COMM_WORLD_RANK", "3"},
                                {"OMPI_COMM_WORLD_SIZE", "4"},
                                {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                                {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                                {"OMPI_MCA_orte_num_nodes", "2"},
                                {"PMIX_RANK", "3"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source, RankSource::kMpirun);
  EXPECT_EQ(r->rank, 3);
  EXPECT_EQ(r->world_size, 4);
  EXPECT_EQ(r->local_rank, 1);
  EXPECT_EQ(r->local_world_size, 2);
  EXPECT_EQ(r->node_rank, -1);  // mpirun does not say
  EXPECT_EQ(r->nnodes, 2);
  EXPECT_FALSE(r->launcher_hosts_store);
}

TEST(RankEnv, Srun) {
  auto r = DetectRankEnv(EnvMap{{"SLURM_PROCID", "3"},
                                {"SLURM_NTASKS", "6"},
                                {"SLURM_LOCALID", "0"},
                                {"SLURM_NODEID", "1"},
                                {"SLURM_STEP_NUM_NODES", "2"},
                                {"SLURM_STEP_TASKS_PER_NODE", "3(x2)"},
                                {"SLURM_STEP_NODELIST", "gpu[07-08]"},
                                {"SLURM_STEP_ID", "0"},
                                {"SLURM_JOB_ID", "1234"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source, RankSource::kSrun);
  EXPECT_EQ(r->rank, 3);
  EXPECT_EQ(r->world_size, 6);
  EXPECT_EQ(r->local_world_size, 3);
  EXPECT_EQ(r->node_rank, 1);
  EXPECT_EQ(r->nnodes, 2);
  EXPECT_EQ(r->master_addr, "gpu07");
  // No port derived from the job id (predictable, and the same for every step of the job):
  // rank 0 takes a free one and publishes it through PMIx (launcher_slurm_test).
  EXPECT_EQ(r->master_port, 0);
  EXPECT_EQ(r->launcher_job, "slurm1234.0");
}

TEST(RankEnv, BatchScriptIsNotAStep) {
  // sbatch sets SLURM_PROCID=0 and SLURM_NTASKS for the script itself; without a step id the
  // program is a single rank, not rank 0 of a job that would wait for its peers forever.
  auto r = DetectRankEnv(EnvMap{{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}, {"SLURM_JOB_ID", "9"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->source, RankSource::kSingle);
}

TEST(RankEnv, InconsistentContractsAreErrors) {
  auto no_size = DetectRankEnv(EnvMap{{"RANK", "1"}});
  ASSERT_FALSE(no_size.ok());
  EXPECT_NE(Msg(no_size.status()).find("WORLD_SIZE is not set"), std::string::npos);
  auto too_big = DetectRankEnv(EnvMap{{"RANK", "4"}, {"WORLD_SIZE", "4"}});
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(Msg(too_big.status()).find("RANK=4"), std::string::npos);
  auto junk = DetectRankEnv(EnvMap{{"RANK", "x"}, {"WORLD_SIZE", "4"}});
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(Msg(junk.status()).find("RANK='x'"), std::string::npos);
  auto no_master = DetectRankEnv(EnvMap{{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"OGAI_RUN_ID", "x"}});
  ASSERT_FALSE(no_master.ok());
  auto port = DetectRankEnv(EnvMap{{"MASTER_PORT", "70000"}});
  ASSERT_FALSE(port.ok());
}

// ---- heartbeats ----------------------------------------------------------------------------

TEST(Heartbeat, ReporterWritesTheAgentsSlot) {
  std::string path = ::testing::TempDir() + "/hb." + std::to_string(::getpid());
  auto table = HeartbeatTable::Create(path, 3);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_FALSE((*table)->Read(1).armed);
  auto rep = ProgressReporter::FromEnv(EnvMap{{"OGAI_HEARTBEAT_FILE", path}, {"LOCAL_RANK", "1"}});
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_TRUE((*rep)->active());
  (*rep)->Report(41);
  (*rep)->Report(42);
  HeartbeatSample s = (*table)->Read(1);
  EXPECT_TRUE(s.armed);
  EXPECT_EQ(s.count, 2u);
  EXPECT_EQ(s.step, 42);
  EXPECT_EQ(s.pid, static_cast<uint64_t>(::getpid()));
  EXPECT_FALSE((*table)->Read(0).armed);
  (*table)->Reset();
  EXPECT_FALSE((*table)->Read(1).armed);
  auto out_of_range = ProgressReporter::FromEnv(EnvMap{{"OGAI_HEARTBEAT_FILE", path}, {"OGAI_HEARTBEAT_SLOT", "3"}});
  EXPECT_FALSE(out_of_range.ok());
  auto none = ProgressReporter::FromEnv(EnvMap{});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE((*none)->active());
  (*none)->Report(1);  // a no-op, not a crash
  std::filesystem::remove(path);
}

// ---- output --------------------------------------------------------------------------------

TEST(Output, SplitsLinesAcrossChunks) {
  LineSplitter s;
  std::vector<std::string> lines;
  auto sink = [&](std::string_view l) { lines.emplace_back(l); };
  s.Append("ab", 2, sink);
  s.Append("c\nde", 4, sink);
  s.Append("\n\nf", 3, sink);
  EXPECT_EQ(lines, (std::vector<std::string>{"abc", "de", ""}));
  EXPECT_TRUE(s.has_partial());
  s.Finish(sink);
  EXPECT_EQ(lines.back(), "f");
  std::string huge(LineSplitter::kMaxLine + 10, 'x');
  lines.clear();
  s.Append(huge.data(), huge.size(), sink);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].size(), LineSplitter::kMaxLine);
}

TEST(Output, TagAndTimestampFormats) {
  OutputOptions o;
  EXPECT_EQ(FormatLine("hi", 3, o, ""), "hi\n");
  o.tag = true;
  EXPECT_EQ(FormatLine("hi", 3, o, ""), "[3] hi\n");
  o.timestamp = true;
  EXPECT_EQ(FormatLine("hi", 3, o, "2025-01-31T12:00:00.123"), "2025-01-31T12:00:00.123 [3] hi\n");
  std::string ts = TimestampNow();
  EXPECT_EQ(ts.size(), 23u);
  EXPECT_EQ(ts[10], 'T');
}

TEST(Output, TailKeepsTheLastLines) {
  LineTail t(2);
  t.Add("a");
  t.Add("b");
  t.Add("c");
  EXPECT_EQ(t.lines().size(), 2u);
  EXPECT_EQ(t.lines().front(), "b");
}

// ---- failures and the agent protocol --------------------------------------------------------

TEST(Failure, ExitCodesAndRootCause) {
  RankFailure f;
  f.kind = RankFailure::Kind::kExited;
  f.exit_code = 7;
  f.rank = 2;
  f.local_rank = 2;
  f.node_rank = 0;
  f.host = "vm";
  f.pid = 4242;
  f.stderr_tail = {"boom"};
  EXPECT_EQ(f.ExitCode(), 7);
  std::string rc = FormatRootCause(f);
  for (const char* s : {"rank 2", "vm", "4242", "exit code:  7", "| boom"}) {
    EXPECT_NE(rc.find(s), std::string::npos) << s << "\n" << rc;
  }
  f.kind = RankFailure::Kind::kSignaled;
  f.signal = 9;
  EXPECT_EQ(f.ExitCode(), 137);
  EXPECT_NE(f.Headline().find("SIGKILL"), std::string::npos);
  f.kind = RankFailure::Kind::kHung;
  EXPECT_EQ(f.ExitCode(), kExitHung);
  f.kind = RankFailure::Kind::kAgentLost;
  EXPECT_EQ(f.ExitCode(), kExitLauncher);
  auto back = RankFailure::Parse(f.Serialize());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->pid, 4242);
  EXPECT_EQ(back->stderr_tail, f.stderr_tail);
  EXPECT_FALSE(RankFailure::Parse("{").ok());
}

TEST(Protocol, MessagesRoundTrip) {
  Command c;
  c.type = Command::Type::kRound;
  c.plan.round = 2;
  c.plan.agents = {0, 2};
  c.plan.hosts = {"a", "c"};
  c.plan.node_ranks = {{0, 1}, {2, 3}};
  auto c2 = Command::Parse(c.Serialize());
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->plan.NodeOf(2), 1);
  EXPECT_EQ(c2->plan.NodeOf(1), -1);
  EXPECT_EQ(c2->round, 2);

  Event e;
  e.type = Event::Type::kFailure;
  e.agent = 1;
  e.round = 2;
  e.failure.rank = 3;
  e.failure.detail = "x\"y";
  auto e2 = Event::Parse(e.Serialize());
  ASSERT_TRUE(e2.ok());
  EXPECT_EQ(e2->failure.rank, 3);
  EXPECT_EQ(e2->failure.detail, "x\"y");

  Bootstrap b{"run1", 3, "127.0.0.1", 4000, "tok", Sha256Hex("the spec")};
  auto b2 = Bootstrap::Parse(b.Serialize());
  ASSERT_TRUE(b2.ok());
  EXPECT_EQ(b2->agent_id, 3);
  EXPECT_EQ(b2->token, "tok");
  EXPECT_FALSE(Bootstrap::Parse("hello").ok());
  // Issue 12: a token holder rewrote agent/spec, and restarted agents ran it. The bootstrap
  // pins the spec's hash; the agent refuses any other spec.
  EXPECT_TRUE(VerifySpec(*b2, "the spec").ok());
  Status st = VerifySpec(*b2, "the spec, rewritten");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("rewritten after the launcher wrote it"), std::string::npos) << st.message();
  EXPECT_FALSE(Bootstrap::Parse("ogai-agent-v2 run1 3 127.0.0.1 4000 tok").ok()) << "no spec hash";
  EXPECT_FALSE(Command::Parse("{\"type\":\"dance\"}").ok());
}

TEST(RankBaseEnv, DropsForeignContractsKeepsUserSettings) {
  auto env = RankBaseEnv({"PATH=/bin", "OMPI_COMM_WORLD_RANK=3", "PMIX_RANK=3", "PMIX_MCA_gds=hash", "SLURM_PROCID=1",
                          "SLURM_JOB_ID=5", "OGAI_AGENT_BOOTSTRAP=secret", "FOO=old"},
                         {"FOO=new"});
  std::set<std::string> s(env.begin(), env.end());
  EXPECT_TRUE(s.count("PATH=/bin"));
  EXPECT_TRUE(s.count("PMIX_MCA_gds=hash"));
  EXPECT_TRUE(s.count("SLURM_JOB_ID=5"));
  EXPECT_TRUE(s.count("FOO=new"));
  EXPECT_FALSE(s.count("FOO=old"));
  EXPECT_FALSE(s.count("OMPI_COMM_WORLD_RANK=3"));
  EXPECT_FALSE(s.count("PMIX_RANK=3"));
  EXPECT_FALSE(s.count("SLURM_PROCID=1"));
  EXPECT_FALSE(s.count("OGAI_AGENT_BOOTSTRAP=secret"));
}

TEST(WarningMerge, IdenticalWarningsOfSeveralRanksBecomeOneLineNamingThem) {
  WarningMerger m(1.0);
  EXPECT_TRUE(m.Add("[ogai-worker rank 2] W: no shard cache\n", 10.0));
  EXPECT_TRUE(m.Add("[ogai-worker rank 0] W: no shard cache\n", 10.2));
  EXPECT_TRUE(m.Add("[ogai-worker rank 1] W: no shard cache", 10.3));
  EXPECT_TRUE(m.Add("[ogai-worker rank 1] W: only mine\n", 10.4));
  EXPECT_FALSE(m.Add("[ogai-worker rank 1] E: an error is never held\n", 10.4));
  EXPECT_FALSE(m.Add("[3] [ogai-worker rank 3] W: tagged output is never held\n", 10.4));
  EXPECT_FALSE(m.Add("step 1/10 | loss 5.5\n", 10.4));
  EXPECT_FALSE(m.Add("[ogai-run] W: the launcher's own\n", 10.4));
  EXPECT_TRUE(m.Due(10.5, false).empty());  // within the window
  EXPECT_EQ(m.Due(11.1, false), std::vector<std::string>{"[ogai-worker ranks 0-2] W: no shard cache\n"});
  EXPECT_EQ(m.Due(11.1, true), std::vector<std::string>{"[ogai-worker rank 1] W: only mine\n"});
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(RankList({7, 0, 1, 2, 3, 5, 8}), "0-3,5,7,8");
}

}  // namespace
}  // namespace ogai::launch
