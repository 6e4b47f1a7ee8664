// A PMIx server for the ranks of one node, so that an unmodified MPI program started by
// ogai-run forms one MPI job of the whole world, as under mpirun or `srun --mpi=pmix`.
//
// The agent registers each round's ranks as a PMIx namespace ("ogai.<run>.<round>") with the
// job map (hosts, ranks per node, local peers), adds the variables PMIx_server_setup_fork
// returns to each rank's environment, and answers the ranks' fences. A fence that spans
// several nodes is completed through the job's store (CrossNodeFence); one that stays on this
// node completes at once. Direct modex, publish/lookup, spawn and tools are not supported.
//
// Open MPI 4 also needs to be told that it was launched directly (not by mpirun, not a
// singleton): ClientEnv() adds OMPI_MCA_schizo=^orte,slurm unless the environment already
// sets OMPI_MCA_schizo.
//
// One server per process (the PMIx library is a singleton). Callbacks run on the PMIx
// library's progress thread; handlers must not block.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::launch {

struct PmixJob {
  std::string nspace;
  int node_rank = 0;                         // this node
  std::vector<std::string> hosts;            // per node
  std::vector<std::vector<int>> node_ranks;  // per node: its global ranks, local-rank order
  std::string tmpdir;                        // for the ranks' PMix/MPI session files
  int world_size() const;
};

class PmixServer {
 public:
  // done(ok, data of every participating node, concatenated in node order).
  using FenceDone = std::function<void(bool ok, std::string all)>;
  // Exchanges this node's fence contribution with the other `nodes`. Must not block.
  using CrossNodeFence = std::function<void(const std::string& fence_id, const std::vector<int>& nodes,
                                            std::string local, FenceDone done)>;
  using AbortHandler = std::function<void(int rank, int status, const std::string& msg)>;

  // Initialises the PMIx server library with its rendezvous files under `tmpdir`.
  static Result<std::unique_ptr<PmixServer>> Start(const std::string& tmpdir);
  ~PmixServer();

  // Registers the namespace and this node's ranks; blocks until the library has them.
  Status RegisterJob(const PmixJob& job);
  // The environment entries (KEY=VALUE) rank `rank` of `nspace` needs.
  Result<std::vector<std::string>> ClientEnv(const std::string& nspace, int rank, bool user_sets_schizo);
  void DeregisterJob(const std::string& nspace);

  void SetCrossNodeFence(CrossNodeFence fn);
  void SetAbortHandler(AbortHandler fn);

  struct Impl;

 private:
  PmixServer() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ogai::launch
