// The rank contract round trip: what ogai-run writes into a rank's environment
// (RankEnvVars) is what the worker reads back (DetectRankEnv, ProgressReporter::FromEnv).
#include <set>

#include <gtest/gtest.h>

#include "rank/contract.h"
#include "rank/rank_env.h"
#include "rank/slurm_env.h"

namespace ogai::launch {
namespace {

EnvMap AsMap(const EnvVars& vars) {
  EnvMap m;
  for (const auto& [k, v] : vars) EXPECT_TRUE(m.emplace(k, v).second) << k << " written twice";
  return m;
}

RankEnv FullContract() {
  RankEnv w;
  w.rank = 5;
  w.world_size = 8;
  w.local_rank = 1;
  w.local_world_size = 2;
  w.node_rank = 2;
  w.nnodes = 4;
  w.master_addr = "10.0.0.1";
  w.master_port = 29500;
  w.store_token = "tok";
  w.restart_count = 3;
  w.max_restarts = 4;
  w.run_id = "abc123";
  w.agent_id = "abc123.2";
  w.heartbeat_file = "/tmp/hb.3";
  w.heartbeat_slot = 1;
  w.elastic = true;
  w.shard_caches = "h0:1,h1:2,h2:3,h3:4";
  w.shard_dir = "/dev/shm/ogai-shards.abc123.2";
  return w;
}

TEST(LauncherRankContract, WriterAndReaderRoundTrip) {
  RankEnv w = FullContract();
  auto r = DetectRankEnv(AsMap(RankEnvVars(w)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source, RankSource::kOgai);
  EXPECT_EQ(r->rank, w.rank);
  EXPECT_EQ(r->world_size, w.world_size);
  EXPECT_EQ(r->local_rank, w.local_rank);
  EXPECT_EQ(r->local_world_size, w.local_world_size);
  EXPECT_EQ(r->node_rank, w.node_rank);
  EXPECT_EQ(r->nnodes, w.nnodes);
  EXPECT_EQ(r->master_addr, w.master_addr);
  EXPECT_EQ(r->master_port, w.master_port);
  EXPECT_EQ(r->store_token, w.store_token);
  EXPECT_EQ(r->restart_count, w.restart_count);
  EXPECT_EQ(r->max_restarts, w.max_restarts);
  EXPECT_EQ(r->run_id, w.run_id);
  EXPECT_EQ(r->agent_id, w.agent_id);
  EXPECT_EQ(r->heartbeat_file, w.heartbeat_file);
  EXPECT_EQ(r->heartbeat_slot, w.heartbeat_slot);
  EXPECT_EQ(r->elastic, w.elastic);
  EXPECT_EQ(r->shard_caches, w.shard_caches);
  EXPECT_EQ(r->shard_dir, w.shard_dir);
  EXPECT_TRUE(r->launcher_hosts_store);
  EXPECT_EQ(r->StorePrefix(), "r3/");
}

TEST(LauncherRankContract, OptionalVariablesAreLeftOut) {
  RankEnv w = FullContract();
  w.elastic = false;
  w.shard_caches.clear();
  w.shard_dir.clear();
  w.heartbeat_file.clear();
  w.heartbeat_slot = -1;
  w.agent_id.clear();
  EnvMap m = AsMap(RankEnvVars(w));
  for (const char* k :
       {kEnvElastic, kEnvShardCaches, kEnvShardDir, kEnvHeartbeatFile, kEnvHeartbeatSlot, kEnvAgentId}) {
    EXPECT_FALSE(m.count(k)) << k;
  }
  auto r = DetectRankEnv(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->elastic);
  EXPECT_EQ(r->heartbeat_slot, -1);
  EXPECT_EQ(m.at(kEnvGroupRank), m.at(kEnvNodeRank));
}

TEST(LauncherRankContract, EveryWrittenVariableIsOursNotForeign) {
  // A rank's contract must survive RankBaseEnv in a rank it starts in turn only through
  // its own writer: the per-job variables are dropped, the store's are kept.
  for (const auto& [k, v] : RankEnvVars(FullContract())) {
    std::set<std::string> per_job = {kEnvAgentId, kEnvHeartbeatFile, kEnvHeartbeatSlot,
                                     kEnvElastic, kEnvShardCaches,   kEnvShardDir};
    EXPECT_EQ(IsForeignLauncherVar(k), per_job.count(k) == 1) << k;
  }
  EXPECT_EQ(ToKeyValues({{"A", "1"}, {"B", ""}}), (std::vector<std::string>{"A=1", "B="}));
}

TEST(LauncherRankContract, SlurmAllocation) {
  auto none = DetectSlurmAllocation(EnvMap{{"PATH", "/bin"}});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto bad = DetectSlurmAllocation(EnvMap{{"SLURM_JOB_ID", "7"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("SLURM_JOB_NODELIST is not"), std::string::npos);
  auto a = DetectSlurmAllocation(
      EnvMap{{"SLURM_JOB_ID", "7"}, {"SLURM_JOB_NODELIST", "n[1-3]"}, {"SLURM_TASKS_PER_NODE", "2(x2),1"}});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->hosts, (std::vector<std::string>{"n1", "n2", "n3"}));
  EXPECT_EQ((*a)->slots, (std::vector<int>{2, 2, 1}));
  EXPECT_EQ((*a)->nodelist, "n[1-3]");
  EXPECT_EQ(SlurmNodeName(EnvMap{{"SLURMD_NODENAME", "n2"}}), "n2");
  EXPECT_EQ(SlurmNodeName(EnvMap{}), "");
}

}  // namespace
}  // namespace ogai::launch
