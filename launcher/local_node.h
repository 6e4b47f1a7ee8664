// LocalNode: the services of the node a process runs ranks on. The launcher has one for its
// own machine, and every remote agent (`ogai-run --agent`) has one; both set it up the same
// way, in two steps:
//
//   Prepare  (before any thread starts: the orphan guard forks)
//            a temp folder ($TMPDIR/<prefix>.XXXXXX), the node's shard-copy folder (tmpfs,
//            checkpoint.peer_copies), the orphan guard (guard.h), child-subreaper status, and a
//            signalfd for the given signals (blocked for the whole process; SIGPIPE ignored).
//   Start    (once the job's store is reachable)
//            the PMIx server with its cross-node fence through the store, the NodeRunner that
//            starts and watches this node's ranks, and the node's shard cache.
//
// A process that runs no ranks here (the launcher when every node is remote: agent_id -1)
// gets the temp folder, the subreaper status and the signalfd only.
//
// Tear-down: StopRanks() (fence, runner) before the store goes away; the destructor stops
// the shard cache and the PMIx server, dismisses the guard and removes both folders.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "launcher/event_loop.h"
#include "launcher/failure.h"
#include "launcher/node_runner.h"
#include "launcher/protocol.h"

namespace ogai::store {
class Store;
class BlobServer;
}  // namespace ogai::store

namespace ogai::launch {

class OrphanGuard;
class PmixServer;
class StoreFence;

struct LocalNodeOptions {
  std::string tmp_prefix;  // "ogai-run.<run>" (launcher), "ogai-agent.<run>.<agent>" (agent)
  std::string run_id;
  int agent_id = -1;         // this node's agent id; -1: no ranks run in this process
  bool shard_cache = false;  // checkpoint.peer_copies: a shard-copy folder and a shard cache
  std::vector<int> signals;  // handled through signal_fd()
};

class LocalNode {
 public:
  static Result<std::unique_ptr<LocalNode>> Prepare(const LocalNodeOptions& opts);
  ~LocalNode();
  LocalNode(const LocalNode&) = delete;
  LocalNode& operator=(const LocalNode&) = delete;

  // Starts the PMIx server (when `pmix`), the NodeRunner (events on `loop`, reported through
  // `cb`) and, with shard_cache, the shard cache listening on `cache_bind` and announced as
  // "<cache_host>:<port>". Only for a node that runs ranks.
  Status Start(EventLoop& loop, std::shared_ptr<store::Store> store, bool pmix, NodeRunner::Callbacks cb,
               const std::string& cache_bind, const std::string& cache_host, const std::string& token);

  // Starts this node's ranks for `plan` (the job's `spec`, the store's `token`). Returns the
  // failure to report when they cannot be started (nothing is running then), else nullopt.
  std::optional<RankFailure> StartRound(const JobSpec& spec, const RoundPlan& plan, const std::string& token);

  // The first half of the tear-down: the fence and the runner (before the store goes).
  void StopRanks();

  NodeRunner* runner() const { return runner_.get(); }
  int signal_fd() const { return signal_fd_; }
  const std::string& tmpdir() const { return tmpdir_; }
  const std::string& cache_addr() const { return cache_addr_; }  // "" without a shard cache

 private:
  LocalNode() = default;

  LocalNodeOptions opts_;
  std::string tmpdir_;
  std::string shard_dir_;
  std::string mpi_shm_dir_;  // Open MPI's shared-memory segments of this node's ranks
  std::string cache_addr_;
  int signal_fd_ = -1;
  std::unique_ptr<OrphanGuard> guard_;
  std::unique_ptr<PmixServer> pmix_;
  std::unique_ptr<StoreFence> fence_;
  std::unique_ptr<NodeRunner> runner_;
  std::unique_ptr<store::BlobServer> cache_;  // the shard cache (store/blob_server.h)
};

}  // namespace ogai::launch
