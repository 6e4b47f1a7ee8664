#include "rank/rank_env.h"

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "rank/contract.h"
#include "rank/heartbeat.h"
#include "rank/slurm_env.h"

extern char** environ;

namespace ogai::launch {
namespace {

const std::string* Find(const EnvMap& env, const std::string& key) {
  auto it = env.find(key);
  return it == env.end() ? nullptr : &it->second;
}

// Parses env[key] as an int in [lo, hi]; `*out` is left alone when the key is absent.
Status GetInt(const EnvMap& env, const std::string& key, int lo, int hi, int* out, bool* present = nullptr) {
  const std::string* v = Find(env, key);
  if (present != nullptr) *present = v != nullptr;
  if (v == nullptr) return Status::Ok();
  errno = 0;
  char* end = nullptr;
  long x = std::strtol(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno != 0 || x < lo || x > hi) {
    return InvalidArgument(key + "='" + *v + "' is not a whole number in [" + std::to_string(lo) + ", " +
                           std::to_string(hi) + "]");
  }
  *out = static_cast<int>(x);
  return Status::Ok();
}

Status Require(const EnvMap& env, const std::string& key, const std::string& why) {
  if (Find(env, key) == nullptr) {
    return InvalidArgument(key + " is not set, but " + why + "; set it, or unset the others to run as a single rank");
  }
  return Status::Ok();
}

Status CheckRanks(const RankEnv& r, const std::string& rank_var, const std::string& size_var) {
  if (r.rank >= r.world_size) {
    return InvalidArgument(rank_var + "=" + std::to_string(r.rank) + " is not below " + size_var + "=" +
                           std::to_string(r.world_size));
  }
  if (r.local_rank >= r.local_world_size) {
    return InvalidArgument("local rank " + std::to_string(r.local_rank) + " is not below the local world size " +
                           std::to_string(r.local_world_size));
  }
  if (r.local_world_size > r.world_size) {
    return InvalidArgument("local world size " + std::to_string(r.local_world_size) + " exceeds the world size " +
                           std::to_string(r.world_size));
  }
  return Status::Ok();
}

Status ReadOgai(const EnvMap& env, RankEnv& r) {
  r.source = RankSource::kOgai;
  OGAI_RETURN_IF_ERROR(Require(env, kEnvWorldSize, "RANK is"));
  OGAI_RETURN_IF_ERROR(GetInt(env, kEnvRank, 0, INT_MAX - 1, &r.rank));
  OGAI_RETURN_IF_ERROR(GetInt(env, kEnvWorldSize, 1, INT_MAX, &r.world_size));
  bool have_local = false, have_local_size = false;
  OGAI_RETURN_IF_ERROR(GetInt(env, kEnvLocalRank, 0, INT_MAX - 1, &r.local_rank, &have_local));
  OGAI_RETURN_IF_ERROR(GetInt(env, kEnvLocalWorldSize, 1, INT_MAX, &r.local_world_size, &have_local_size));
  if (!have_local) r.local_rank = r.rank;
  if (!have_local_size) r.local_world_size = r.world_size;
  OGAI_RETURN_IF_ERROR(GetInt(env, kEnvNodeRank, 0, INT_MAX - 1, &r.node_rank));
  bool have_nnodes = false;
  OGAI_RETURN_IF_ERROR(GetInt(env, kEnvNnodes, 1, INT_MAX, &r.nnodes, &have_nnodes));
  if (!have_nnodes) {
    r.nnodes = r.local_world_size > 0 ? (r.world_size + r.local_world_size - 1) / r.local_world_size : 1;
  }
  OGAI_RETURN_IF_ERROR(CheckRanks(r, kEnvRank, kEnvWorldSize));
  r.launcher_hosts_store = Find(env, kEnvRunId) != nullptr;
  return Status::Ok();
}

Status ReadMpirun(const EnvMap& env, RankEnv& r) {
  r.source = RankSource::kMpirun;
  const char* rank_var = Find(env, "OMPI_COMM_WORLD_RANK") ? "OMPI_COMM_WORLD_RANK" : "PMIX_RANK";
  OGAI_RETURN_IF_ERROR(Require(env, "OMPI_COMM_WORLD_SIZE", std::string(rank_var) + " is"));
  OGAI_RETURN_IF_ERROR(GetInt(env, rank_var, 0, INT_MAX - 1, &r.rank));
  OGAI_RETURN_IF_ERROR(GetInt(env, "OMPI_COMM_WORLD_SIZE", 1, INT_MAX, &r.world_size));
  r.local_rank = r.rank;
  r.local_world_size = r.world_size;
  bool have_lr = false, have_ls = false;
  OGAI_RETURN_IF_ERROR(GetInt(env, "OMPI_COMM_WORLD_LOCAL_RANK", 0, INT_MAX - 1, &r.local_rank, &have_lr));
  OGAI_RETURN_IF_ERROR(GetInt(env, "OMPI_COMM_WORLD_LOCAL_SIZE", 1, INT_MAX, &r.local_world_size, &have_ls));
  if (!have_lr || !have_ls) {
    r.local_rank = r.rank;
    r.local_world_size = r.world_size;
  }
  // mpirun does not say which node a rank is on; it does export the node count.
  r.node_rank = r.local_world_size == r.world_size ? 0 : -1;
  r.nnodes = r.local_world_size == r.world_size ? 1 : -1;
  OGAI_RETURN_IF_ERROR(GetInt(env, "OMPI_MCA_orte_num_nodes", 1, INT_MAX, &r.nnodes));
  return CheckRanks(r, rank_var, "OMPI_COMM_WORLD_SIZE");
}

Status ReadSrun(const EnvMap& env, RankEnv& r) {
  r.source = RankSource::kSrun;
  const char* size_var = Find(env, "SLURM_NTASKS") ? "SLURM_NTASKS" : "SLURM_NPROCS";
  OGAI_RETURN_IF_ERROR(Require(env, size_var, "SLURM_PROCID is"));
  OGAI_RETURN_IF_ERROR(GetInt(env, "SLURM_PROCID", 0, INT_MAX - 1, &r.rank));
  OGAI_RETURN_IF_ERROR(GetInt(env, size_var, 1, INT_MAX, &r.world_size));
  r.local_rank = 0;
  OGAI_RETURN_IF_ERROR(GetInt(env, "SLURM_LOCALID", 0, INT_MAX - 1, &r.local_rank));
  OGAI_RETURN_IF_ERROR(GetInt(env, "SLURM_NODEID", 0, INT_MAX - 1, &r.node_rank));
  r.nnodes = 1;
  const char* nn_var = Find(env, "SLURM_STEP_NUM_NODES") ? "SLURM_STEP_NUM_NODES" : "SLURM_NNODES";
  OGAI_RETURN_IF_ERROR(GetInt(env, nn_var, 1, INT_MAX, &r.nnodes));
  r.local_world_size = r.world_size / r.nnodes;
  const std::string* tpn = Find(env, "SLURM_STEP_TASKS_PER_NODE");
  if (tpn == nullptr) tpn = Find(env, "SLURM_TASKS_PER_NODE");
  if (tpn != nullptr) {
    auto counts = ExpandSlurmCounts(*tpn);
    if (!counts.ok()) return counts.status();
    if (r.node_rank < static_cast<int>(counts->size())) {
      r.local_world_size = (*counts)[static_cast<size_t>(r.node_rank)];
    }
  }
  if (r.local_world_size < 1) r.local_world_size = 1;
  // The store lives on the first node of the step unless the user said otherwise.
  const std::string* nodes = Find(env, "SLURM_STEP_NODELIST");
  if (nodes == nullptr) nodes = Find(env, "SLURM_JOB_NODELIST");
  if (nodes == nullptr) nodes = Find(env, "SLURM_NODELIST");
  if (nodes != nullptr && !nodes->empty()) {
    auto hosts = ExpandSlurmHostlist(*nodes);
    if (!hosts.ok()) return hosts.status();
    r.master_addr = hosts->front();
  }
  // No port: rank 0 takes a free one and publishes it through PMIx (train/dist_setup.cc);
  // MASTER_PORT, read below, overrides that.
  const std::string* job = Find(env, "SLURM_JOB_ID");
  const std::string* step = Find(env, "SLURM_STEP_ID");
  if (step == nullptr) step = Find(env, "SLURM_STEPID");
  if (job != nullptr && step != nullptr) r.launcher_job = "slurm" + *job + "." + *step;
  return CheckRanks(r, "SLURM_PROCID", size_var);
}

}  // namespace

const char* RankSourceName(RankSource s) {
  switch (s) {
    case RankSource::kSingle: return "single";
    case RankSource::kOgai: return "ogai-run";
    case RankSource::kMpirun: return "mpirun";
    case RankSource::kSrun: return "srun";
  }
  return "?";
}

std::string RankEnv::StorePrefix() const { return "r" + std::to_string(restart_count) + "/"; }

std::string RankEnv::Describe() const {
  auto or_q = [](int v) { return v < 0 ? std::string("?") : std::to_string(v); };
  return "rank " + std::to_string(rank) + "/" + std::to_string(world_size) + " (local " + std::to_string(local_rank) +
         "/" + std::to_string(local_world_size) + ", node " + or_q(node_rank) + "/" + or_q(nnodes) + ") via " +
         RankSourceName(source) + ", restart " + std::to_string(restart_count);
}

EnvMap CurrentEnv() {
  EnvMap env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

Result<RankEnv> DetectRankEnv() { return DetectRankEnv(CurrentEnv()); }

Result<RankEnv> DetectRankEnv(const EnvMap& env) {
  RankEnv r;
  Status st;
  if (Find(env, kEnvRank) != nullptr || Find(env, kEnvRunId) != nullptr) {
    if (Find(env, kEnvRank) == nullptr) {
      return InvalidArgument(
          "OGAI_RUN_ID is set but RANK is not: the ogai-run rank contract "
          "is incomplete");
    }
    st = ReadOgai(env, r);
  } else if (Find(env, "OMPI_COMM_WORLD_RANK") != nullptr ||
             (Find(env, "PMIX_RANK") != nullptr && Find(env, "OMPI_COMM_WORLD_SIZE") != nullptr)) {
    st = ReadMpirun(env, r);
  } else if (Find(env, "SLURM_PROCID") != nullptr &&
             (Find(env, "SLURM_STEP_ID") != nullptr || Find(env, "SLURM_STEPID") != nullptr)) {
    st = ReadSrun(env, r);
  }
  if (!st.ok()) return st.WithContext("reading the rank environment");
  // Settings any launcher may pass through.
  if (const std::string* a = Find(env, kEnvMasterAddr); a != nullptr && !a->empty()) {
    r.master_addr = *a;
  }
  st = GetInt(env, kEnvMasterPort, 1, 65535, &r.master_port);
  if (st.ok()) st = GetInt(env, kEnvRestartCount, 0, INT_MAX, &r.restart_count);
  if (st.ok()) st = GetInt(env, kEnvMaxRestarts, 0, INT_MAX, &r.max_restarts);
  if (!st.ok()) return st.WithContext("reading the rank environment");
  if (const std::string* t = Find(env, kEnvStoreToken)) r.store_token = *t;
  if (const std::string* id = Find(env, kEnvRunId)) r.run_id = *id;
  if (const std::string* e = Find(env, kEnvElastic)) {
    if (*e != "0" && *e != "1") {
      return InvalidArgument("OGAI_ELASTIC='" + *e + "' must be 0 or 1");
    }
    r.elastic = *e == "1";
  }
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"}) {
    if (const std::string* x = Find(env, v); x != nullptr && !x->empty()) r.mpi_launcher = true;
  }
  // srun sets SLURM_STEP_ID and SLURM_PROCID for each task; sbatch alone sets no step.
  if (Find(env, "SLURM_PROCID") != nullptr && Find(env, "SLURM_STEP_ID") != nullptr) r.mpi_launcher = true;
  if (const std::string* c = Find(env, kEnvShardCaches)) r.shard_caches = *c;
  if (const std::string* d = Find(env, kEnvShardDir)) r.shard_dir = *d;
  if (const std::string* a = Find(env, kEnvAgentId)) r.agent_id = *a;
  if (const std::string* f = Find(env, kEnvHeartbeatFile)) r.heartbeat_file = *f;
  // Checked where it is used (ProgressReporter::FromEnv); a bad value here leaves -1.
  if (!GetInt(env, kEnvHeartbeatSlot, 0, INT_MAX - 1, &r.heartbeat_slot).ok()) r.heartbeat_slot = -1;
  if (r.source == RankSource::kOgai && r.launcher_hosts_store && (r.master_addr.empty() || r.master_port == 0)) {
    return InvalidArgument(
        "started by ogai-run (OGAI_RUN_ID is set) but MASTER_ADDR/MASTER_PORT "
        "are missing");
  }
  return r;
}

Result<std::unique_ptr<ProgressReporter>> ProgressReporter::FromEnv() { return FromEnv(CurrentEnv()); }

Result<std::unique_ptr<ProgressReporter>> ProgressReporter::FromEnv(const EnvMap& env) {
  std::unique_ptr<ProgressReporter> p(new ProgressReporter());
  const std::string* file = Find(env, kEnvHeartbeatFile);
  if (file == nullptr || file->empty()) return p;
  int slot = -1;
  bool have_slot = false;
  OGAI_RETURN_IF_ERROR(GetInt(env, kEnvHeartbeatSlot, 0, INT_MAX - 1, &slot, &have_slot));
  if (!have_slot) OGAI_RETURN_IF_ERROR(GetInt(env, kEnvLocalRank, 0, INT_MAX - 1, &slot, &have_slot));
  if (!have_slot) {
    return InvalidArgument(
        "OGAI_HEARTBEAT_FILE is set but neither OGAI_HEARTBEAT_SLOT nor "
        "LOCAL_RANK is");
  }
  OGAI_ASSIGN_OR_RETURN(p->writer_, HeartbeatSlotWriter::Open(*file, slot));
  return p;
}

ProgressReporter::~ProgressReporter() = default;

void ProgressReporter::Report(int64_t step) {
  if (writer_) writer_->Write(step);
}

}  // namespace ogai::launch
