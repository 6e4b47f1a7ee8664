#include "rank/contract.h"

#include <set>

extern char** environ;

namespace ogai::launch {
namespace {

std::string KeyOf(const std::string& kv) { return kv.substr(0, kv.find('=')); }

}  // namespace

EnvVars RankEnvVars(const RankEnv& r) {
  EnvVars v = {
      {kEnvWorldSize, std::to_string(r.world_size)},
      {kEnvLocalWorldSize, std::to_string(r.local_world_size)},
      {kEnvNodeRank, std::to_string(r.node_rank)},
      {kEnvGroupRank, std::to_string(r.node_rank)},
      {kEnvNnodes, std::to_string(r.nnodes)},
      {kEnvMasterAddr, r.master_addr},
      {kEnvMasterPort, std::to_string(r.master_port)},
      {kEnvStoreToken, r.store_token},
      {kEnvRestartCount, std::to_string(r.restart_count)},
      {kEnvMaxRestarts, std::to_string(r.max_restarts)},
      {kEnvRunId, r.run_id},
  };
  if (!r.agent_id.empty()) v.emplace_back(kEnvAgentId, r.agent_id);
  if (!r.heartbeat_file.empty()) v.emplace_back(kEnvHeartbeatFile, r.heartbeat_file);
  if (r.elastic) v.emplace_back(kEnvElastic, "1");
  if (!r.shard_caches.empty()) v.emplace_back(kEnvShardCaches, r.shard_caches);
  if (!r.shard_dir.empty()) v.emplace_back(kEnvShardDir, r.shard_dir);
  v.emplace_back(kEnvRank, std::to_string(r.rank));
  v.emplace_back(kEnvLocalRank, std::to_string(r.local_rank));
  if (r.heartbeat_slot >= 0) v.emplace_back(kEnvHeartbeatSlot, std::to_string(r.heartbeat_slot));
  return v;
}

std::vector<std::string> ToKeyValues(const EnvVars& vars) {
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

bool IsForeignLauncherVar(std::string_view key) {
  static const char* kPrefixes[] = {"OMPI_COMM_WORLD_",
                                    "OMPI_MCA_orte_",
                                    "OMPI_MCA_ess",
                                    "OMPI_MCA_pmix",
                                    "OMPI_FILE_LOCATION",
                                    "OMPI_UNIVERSE_SIZE",
                                    "OMPI_APP_CTX_NUM_PROCS",
                                    "OMPI_FIRST_RANKS",
                                    "OMPI_NUM_APP_CTX",
                                    "PMI_",
                                    "PMIX_",
                                    "OGAI_AGENT_",
                                    "OGAI_HEARTBEAT_"};
  static const char* kExact[] = {"SLURM_PROCID", "SLURM_LOCALID", "SLURM_GTIDS",   "SLURM_TASK_PID", "SLURM_STEP_ID",
                                 "SLURM_STEPID", kEnvElastic,     kEnvShardCaches, kEnvShardDir};
  if (key.starts_with("PMIX_MCA_")) return false;  // the user's PMIx settings stay
  for (const char* p : kPrefixes)
    if (key.starts_with(p)) return true;
  for (const char* k : kExact)
    if (key == k) return true;
  return false;
}

std::vector<std::string> RankBaseEnv(const std::vector<std::string>& own, const std::vector<std::string>& extra) {
  std::set<std::string> extra_keys;
  for (const std::string& kv : extra) extra_keys.insert(KeyOf(kv));
  std::vector<std::string> out;
  for (const std::string& kv : own) {
    std::string key = KeyOf(kv);
    if (extra_keys.count(key) || IsForeignLauncherVar(key)) continue;
    out.push_back(kv);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::vector<std::string> OwnEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

}  // namespace ogai::launch
