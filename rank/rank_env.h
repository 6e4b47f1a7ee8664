// The rank contract, seen from inside a worker rank (library ogai_rankenv).
//
// A worker rank learns who it is from its environment. Four launchers are understood, tried
// in this order:
//
//   ogai-run (or torchrun)  RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK,
//                           MASTER_ADDR, MASTER_PORT, plus ogai's own OGAI_RESTART_COUNT,
//                           OGAI_STORE_TOKEN, OGAI_RUN_ID, OGAI_NNODES, OGAI_HEARTBEAT_FILE.
//   mpirun (Open MPI)       OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK / _LOCAL_SIZE
//                           (PMIX_RANK when OMPI_COMM_WORLD_RANK is missing).
//   srun (Slurm job step)   SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NODEID,
//                           SLURM_STEP_NUM_NODES, SLURM_STEP_TASKS_PER_NODE,
//                           SLURM_STEP_NODELIST; only inside a step (SLURM_STEP_ID set), so a
//                           program run directly in an sbatch script is not mistaken for
//                           rank 0 of a larger job.
//   nothing                 a single rank: rank 0 of 1.
//
// MASTER_ADDR / MASTER_PORT / OGAI_STORE_TOKEN in the environment are honoured whatever the
// launcher (export them in an sbatch script or with `mpirun -x`). rank/contract.h names every
// variable ogai-run sets and has the writer (RankEnvVars). Under ogai-run the store is
// already running at MASTER_ADDR:MASTER_PORT (hosted by the launcher); under any other launcher
// rank 0 hosts it (`launcher_hosts_store` is false). Under srun without MASTER_PORT rank 0
// listens on a port the kernel picks and publishes it through PMIx (`srun --mpi=pmix`;
// rank/pmix_client.h). docs/launcher.md has the whole contract.
//
// Progress: the training loop calls ProgressReporter::Report(step) once per step. Under
// ogai-run that writes the step into a shared-memory slot the node's agent watches; a rank
// whose reports stop for longer than --heartbeat-timeout is declared hung, named, and the job
// is stopped (or restarted). A rank that never reports is never declared hung (its exit and
// signals are still watched). Under other launchers Report() does nothing.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/status.h"

namespace ogai::launch {

enum class RankSource { kSingle, kOgai, kMpirun, kSrun };
const char* RankSourceName(RankSource s);  // "single", "ogai-run", "mpirun", "srun"

struct RankEnv {
  RankSource source = RankSource::kSingle;
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  int node_rank = 0;                  // -1 when the launcher does not say (mpirun)
  int nnodes = 1;                     // -1 when the launcher does not say
  std::string master_addr;            // store host; "" when unknown (mpirun without -x MASTER_ADDR)
  int master_port = 0;                // store port; 0 when unknown (srun: rank 0 publishes it via PMIx)
  std::string launcher_job;           // the launcher's name of this job step ("slurm<job>.<step>"), or ""
  std::string store_token;            // shared secret of the job's store; "" when none was given
  int restart_count = 0;              // OGAI_RESTART_COUNT: 0 on the first start, +1 per group restart
  int max_restarts = 0;               // OGAI_MAX_RESTARTS
  std::string run_id;                 // OGAI_RUN_ID: unique per ogai-run invocation ("" otherwise)
  bool launcher_hosts_store = false;  // true under ogai-run: connect, do not serve
  // Started by an MPI-capable launcher (Open MPI's mpirun, MPICH/Hydra's mpiexec, PMIx, or an
  // srun step), whatever `source` says: MPI can bootstrap the ranks without a store.
  bool mpi_launcher = false;
  // OGAI_ELASTIC=1: the job may continue at another world size after losing nodes
  // (ogai-run --nnodes MIN:MAX); a training rank then derives dp from WORLD_SIZE.
  bool elastic = false;
  // OGAI_SHARD_CACHES: "host:port,host:port,..." by this round's node rank: the in-memory
  // checkpoint shard caches the node agents hold (checkpoint.peer_copies; docs/recovery.md).
  std::string shard_caches;
  // OGAI_SHARD_DIR: this node's folder (tmpfs) for in-memory copies of checkpoint shards.
  std::string shard_dir;
  // OGAI_AGENT_ID: "<run>.<agent>.<agent pid>", the job marker the launcher finds leftovers by ("" when
  // not under ogai-run).
  std::string agent_id;
  // OGAI_HEARTBEAT_FILE / OGAI_HEARTBEAT_SLOT: where ProgressReporter writes (slot -1: none
  // given; ProgressReporter then uses the local rank).
  std::string heartbeat_file;
  int heartbeat_slot = -1;

  // The key prefix a rank should use in the store for this rendezvous round, so that keys
  // of a restarted group never mix with the previous round's: "r<restart_count>/".
  std::string StorePrefix() const;
  // One line for logs: "rank 3/8 (local 1/2, node 1/4) via ogai-run, restart 0".
  std::string Describe() const;
};

using EnvMap = std::map<std::string, std::string>;

// Reads the contract from this process's environment. A partial or inconsistent contract
// (RANK without WORLD_SIZE, RANK >= WORLD_SIZE, a non-number) is an InvalidArgument naming
// the variable and its value.
Result<RankEnv> DetectRankEnv();
// Same, from an explicit environment.
Result<RankEnv> DetectRankEnv(const EnvMap& env);
// This process's environment as a map.
EnvMap CurrentEnv();

class HeartbeatSlotWriter;

// Per-step progress reporting to the node agent. Thread-compatible: call Report() from one
// thread (the training loop).
class ProgressReporter {
 public:
  // Uses OGAI_HEARTBEAT_FILE / OGAI_HEARTBEAT_SLOT when present (under ogai-run); otherwise
  // returns a reporter whose Report() does nothing. Fails only when the variables are set
  // but the file cannot be mapped.
  static Result<std::unique_ptr<ProgressReporter>> FromEnv();
  static Result<std::unique_ptr<ProgressReporter>> FromEnv(const EnvMap& env);
  ~ProgressReporter();

  // Records that `step` was reached (any int64; need not increase). Two relaxed atomic
  // stores; no system call.
  void Report(int64_t step);
  // True when an agent is watching.
  bool active() const { return writer_ != nullptr; }

 private:
  ProgressReporter() = default;
  std::unique_ptr<HeartbeatSlotWriter> writer_;
};

}  // namespace ogai::launch
