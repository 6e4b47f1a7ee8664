// The rank environment contract: the variables ogai-run sets for every rank it starts, by
// name, and the one function that writes them (the launcher's side). The worker's side reads
// them back in rank_env.cc (DetectRankEnv, ProgressReporter::FromEnv), with the same names.
//
//   RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE   this rank and the group (torchrun's names)
//   NODE_RANK, GROUP_RANK                            this round's node rank (GROUP_RANK: torchrun)
//   MASTER_ADDR, MASTER_PORT, OGAI_STORE_TOKEN       the job's store (hosted by ogai-run)
//   OGAI_NNODES                                      nodes in this round
//   OGAI_RESTART_COUNT, OGAI_MAX_RESTARTS            this round's number, the restart budget
//   OGAI_RUN_ID                                      unique per ogai-run invocation
//   OGAI_AGENT_ID                                    "<run>.<agent>.<agent pid>": the job marker by which
//                                                    leftover processes are found
//   OGAI_HEARTBEAT_FILE, OGAI_HEARTBEAT_SLOT         where ProgressReporter reports steps
//   OGAI_ELASTIC                                     "1" when the world size may change
//   OGAI_SHARD_CACHES, OGAI_SHARD_DIR                in-memory checkpoint shard copies
//
// Other launchers' variables (Open MPI, PMIx, Slurm) are only read, in rank_env.cc; the ones a
// rank must not inherit from an outer job are named by IsForeignLauncherVar.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rank/rank_env.h"

namespace ogai::launch {

inline constexpr const char* kEnvRank = "RANK";
inline constexpr const char* kEnvWorldSize = "WORLD_SIZE";
inline constexpr const char* kEnvLocalRank = "LOCAL_RANK";
inline constexpr const char* kEnvLocalWorldSize = "LOCAL_WORLD_SIZE";
inline constexpr const char* kEnvNodeRank = "NODE_RANK";
inline constexpr const char* kEnvGroupRank = "GROUP_RANK";
inline constexpr const char* kEnvMasterAddr = "MASTER_ADDR";
inline constexpr const char* kEnvMasterPort = "MASTER_PORT";
inline constexpr const char* kEnvStoreToken = "OGAI_STORE_TOKEN";
inline constexpr const char* kEnvNnodes = "OGAI_NNODES";
inline constexpr const char* kEnvRestartCount = "OGAI_RESTART_COUNT";
inline constexpr const char* kEnvMaxRestarts = "OGAI_MAX_RESTARTS";
inline constexpr const char* kEnvRunId = "OGAI_RUN_ID";
inline constexpr const char* kEnvAgentId = "OGAI_AGENT_ID";
inline constexpr const char* kEnvHeartbeatFile = "OGAI_HEARTBEAT_FILE";
inline constexpr const char* kEnvHeartbeatSlot = "OGAI_HEARTBEAT_SLOT";
inline constexpr const char* kEnvElastic = "OGAI_ELASTIC";
inline constexpr const char* kEnvShardCaches = "OGAI_SHARD_CACHES";
inline constexpr const char* kEnvShardDir = "OGAI_SHARD_DIR";

using EnvVars = std::vector<std::pair<std::string, std::string>>;

// The contract for one rank, as (name, value) pairs: what ogai-run puts in a rank's
// environment. `r.source` is ignored (the writer is ogai-run). Optional variables are left
// out when empty: OGAI_ELASTIC unless r.elastic, OGAI_SHARD_CACHES, OGAI_SHARD_DIR,
// OGAI_AGENT_ID, OGAI_HEARTBEAT_FILE/SLOT. DetectRankEnv reads the result back as `r`.
EnvVars RankEnvVars(const RankEnv& r);

// "KEY=VALUE" strings, as a spawn request wants them.
std::vector<std::string> ToKeyValues(const EnvVars& vars);

// True for a variable a parent launcher or an outer job leaves behind that would confuse a
// rank we start: another rank contract (Open MPI's, Slurm's per-task variables), PMIx
// connection details, our own agent bootstrap and per-rank variables. The user's PMIx
// settings (PMIX_MCA_*) are not foreign.
bool IsForeignLauncherVar(std::string_view key);

// The environment a rank starts from: `own` (the agent's environment) without foreign
// launcher variables, plus `extra` (-x), which wins over `own`.
std::vector<std::string> RankBaseEnv(const std::vector<std::string>& own, const std::vector<std::string>& extra);
// This process's environment as KEY=VALUE strings.
std::vector<std::string> OwnEnvironment();

}  // namespace ogai::launch
