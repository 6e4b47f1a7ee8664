// NodeRunner: starts one node's ranks for one round and watches them.
//
//  * Each rank runs in its own session with PR_SET_PDEATHSIG, stdout/stderr on pipes that are
//    cut into lines (output.h), and the rank contract in its environment.
//  * Exits are seen through SIGCHLD (the owner passes wait statuses in), so a rank that exits
//    non-zero or dies by a signal is reported at once (on_failure).
//  * Progress: every 100 ms the heartbeat table is read; a rank that has reported and then
//    stays silent, or a rank stopped (SIGSTOP) for longer than the heartbeat timeout, is
//    reported hung.
//  * Stop(sig, grace): sig (and SIGCONT, so stopped ranks can act on it) to every rank's
//    process group and to every leftover process of the job; SIGKILL after `grace`; then
//    on_stopped once no process of the round is left: rank sessions, processes carrying the
//    job marker in their environment, and orphans re-parented to this subreaper are all
//    checked.
//  * When every rank exits 0, leftovers are stopped the same way before on_success.
//
// Everything runs on the owner's event loop thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "launcher/event_loop.h"
#include "launcher/failure.h"
#include "launcher/output.h"
#include "rank/contract.h"  // RankBaseEnv, OwnEnvironment (moved there)

namespace ogai::store {
class Store;
}

namespace ogai::launch {

class HeartbeatTable;
class OrphanGuard;
class PmixServer;
class StoreFence;

// OGAI_AGENT_ID's value, the job marker: "<run>.<agent>.<pid of the agent's process>".
std::string AgentMarkerValue(const std::string& run_id, int agent_id, pid_t agent_pid);

struct NodeRound {
  std::string run_id;
  int round = 0;  // OGAI_RESTART_COUNT
  int max_restarts = 0;
  int agent_id = 0;                          // stable across rounds (the job marker uses it)
  pid_t agent_pid = 0;                       // the process that runs this node's ranks (the marker too)
  int node_rank = 0;                         // this round's node rank
  std::string host;                          // this node, for messages
  std::vector<std::string> hosts;            // every node of the round
  std::vector<std::vector<int>> node_ranks;  // every node's global ranks, in local order
  std::vector<std::string> argv;
  std::vector<std::string> env;  // base environment (KEY=VALUE) before the rank contract
  std::string cwd;
  std::string master_addr;
  int master_port = 0;
  std::string token;
  OutputOptions output;
  double heartbeat_timeout = 60.0;  // <= 0: no hang detection
  double grace = 10.0;              // SIGTERM -> SIGKILL for leftovers after success
  bool bind_cores = false;
  bool oversubscribe = false;
  bool pmix = true;
  std::string tmpdir;               // this node's job folder (heartbeat file, PMIx files)
  bool elastic = false;             // OGAI_ELASTIC=1 for the ranks
  std::vector<std::string> caches;  // shard caches by node rank (OGAI_SHARD_CACHES)
  std::string shard_dir;            // this node's in-memory shard copies (OGAI_SHARD_DIR)
  std::string mpi_shm_dir;          // Open MPI's shared-memory segments, unless the user set the folder

  int world_size() const;
  const std::vector<int>& my_ranks() const { return node_ranks[static_cast<size_t>(node_rank)]; }
  std::string nspace() const;
  // "<run>.<agent>.<agent pid>": OGAI_AGENT_ID, the job marker every rank of this agent
  // carries. The pid tells a node's agents apart: when a lost node's agent is replaced, the
  // orphan guard of the old one (launcher/guard.h) must not take the new one's ranks for its own.
  std::string AgentId() const;
  // The marker as an environment entry: "OGAI_AGENT_ID=<run>.<agent>.<agent pid>".
  std::string Marker() const;
};

class NodeRunner {
 public:
  struct Callbacks {
    std::function<void(const RankFailure&)> on_failure;  // the first failure of the round
    std::function<void()> on_success;                    // every rank exited 0
    std::function<void()> on_stopped;                    // after Stop(): nothing left
    // A formatted output line; default: written to our stdout / stderr.
    std::function<void(const std::string& text, bool is_stderr)> on_output;
  };

  NodeRunner(EventLoop& loop, PmixServer* pmix, OrphanGuard* guard, Callbacks cb);
  ~NodeRunner();

  // Spawns the round's ranks. A rank that cannot be started is reported through on_failure
  // (kSpawnFailed) after the others are started, so the owner stops the round as usual.
  Status Start(const NodeRound& round);
  // Stops the round: `sig` now (SIGTERM, or the user's SIGINT), SIGKILL after `grace`.
  // Calling it again with SIGKILL escalates at once. on_stopped fires when nothing is left.
  void Stop(int sig, double grace);
  // Sends `sig` to every running rank without stopping the round (SIGUSR1, ...).
  void Signal(int sig);
  // Feeds a wait status from the process's reaper. Returns false if `pid` is not a rank.
  bool OnChildStatus(pid_t pid, int status);
  // Children of this process that are not ranks and must not be treated as leftovers.
  void SetHelperPredicate(std::function<bool(pid_t)> is_helper) { is_helper_ = std::move(is_helper); }
  // An MPI_Abort message for `rank` (from the PMIx server), shown in its failure.
  void NoteAbort(int rank, int status, const std::string& msg);

  bool idle() const { return state_ == State::kIdle; }
  int live_ranks() const;

 private:
  enum class State { kIdle, kRunning, kFinishing, kStopping };
  struct Rank;

  void EmitLine(Rank& r, bool is_stderr, std::string_view line);
  void CheckHeartbeats();
  void ReportFailure(RankFailure f);
  RankFailure BaseFailure(const Rank& r) const;
  void MaybeFinished();
  void BeginTeardown(int sig, double grace);
  void TeardownTick();
  void Complete();
  std::set<pid_t> Leftovers() const;

  EventLoop& loop_;
  PmixServer* pmix_;
  OrphanGuard* guard_;
  Callbacks cb_;
  std::function<bool(pid_t)> is_helper_;
  NodeRound round_;
  State state_ = State::kIdle;
  bool failure_reported_ = false;
  bool stop_requested_ = false;  // Stop() was called: end with on_stopped, not on_success
  std::vector<std::unique_ptr<Rank>> ranks_;
  std::unique_ptr<HeartbeatTable> heartbeats_;
  std::set<pid_t> sessions_;
  std::set<pid_t> signalled_;  // leftovers already sent the first signal
  int stop_signal_ = 0;
  bool killed_ = false;
  EventLoop::TimerId hb_timer_ = 0, tick_timer_ = 0, kill_timer_ = 0;
  std::chrono::steady_clock::time_point kill_time_;
  std::vector<RankFailure> pending_spawn_failures_;
  bool pmix_registered_ = false;
};

}  // namespace ogai::launch
