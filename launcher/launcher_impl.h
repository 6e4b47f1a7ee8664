// The launcher's state during a run (private to launcher/): one object, touched only on its
// event loop's thread. Its member functions are split by job:
//
//   launcher.cc         set-up (plan, store, this machine's LocalNode) and tear-down
//   agent_helpers.cc    the ssh / srun processes that carry remote agents, and their output
//   launcher_events.cc  signals, agent events and liveness, commands to agents, the trace
//   rounds.cc           the round / restart / elastic state machine and the exit code
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "launcher/event_loop.h"
#include "launcher/failure.h"
#include "launcher/local_node.h"
#include "launcher/options.h"
#include "launcher/output.h"
#include "launcher/piped_child.h"
#include "launcher/plan.h"
#include "launcher/protocol.h"
#include "launcher/store_channel.h"
#include "store/server.h"
#include "store/store.h"

namespace ogai::launch {

// How long the first start waits for every remote agent to join.
inline constexpr double kInitialJoinTimeout = 60.0;
// How long the end of the job waits for agents to exit before they are killed.
inline constexpr double kAgentExitTimeout = 10.0;

// Everything the launcher knows during a run. Touched only on the event loop's thread,
// except where noted.
class Launcher {
 public:
  explicit Launcher(const RunOptions& opts) : opts_(opts) {}
  int Run();

 private:
  using Clock = std::chrono::steady_clock;
  enum class Phase { kJoining, kRunning, kStopping, kRejoining, kDone };
  enum class NodeState { kIdle, kRunning, kSucceeded, kStopped };

  // The ssh (one per remote node) or srun (one for all) that carries remote agents.
  struct Helper {
    PipedChild child;
    std::vector<int> agents;
    LineTail err_tail{8};
    // Until its agents have joined, a helper's stderr (ssh's own complaints) is held back:
    // it is shown in the error if the agent never joins, and passed on once it does.
    bool joined = false;
    std::vector<std::string> held;
    bool exited = false;
    int status = 0;
  };
  struct Agent {
    int id = 0;
    std::string host;
    bool local = false;
    bool joined = false;
    bool lost = false;
    bool dropped = false;  // shrunk out of the job (elastic)
    std::string lost_reason;
    int helper = -1;  // index into helpers_
    std::optional<std::string> hb_value;
    Clock::time_point hb_changed;
    NodeState state = NodeState::kIdle;
    std::string cache;  // its shard cache "host:port" (checkpoint.peer_copies)
  };

  // Set-up (before the loop runs).
  Status Prepare();
  Status StartServices();
  Status StartHelpers(const std::vector<int>& agent_ids);
  // Loop handlers.
  void OnSignal();
  void OnHelperLine(int h, std::string_view line, bool is_stderr);
  void OnHelperExit(int h, int status);
  void OnEvent(const Event& e);
  void OnNodeFailure(int agent, const RankFailure& f);
  void OnNodeSuccess(int agent);
  void OnNodeStopped(int agent);
  void OnAgentLost(int agent, const std::string& reason);
  void CheckAgentHeartbeats();
  void CheckJoined();
  void StartRound();
  void StopAll(int sig, double grace);
  void AfterStop();
  void Finish(int code);
  void Broadcast(const Command& c);
  void FatalStore(const Status& st);
  void RecordFailure(const RankFailure& f);
  void Trace(const std::string& event, const std::string& detail = "");
  double Elapsed() const;  // seconds since ogai-run started
  bool AllRoundNodes(NodeState s) const;
  std::vector<int> RoundAgents() const;

  RunOptions opts_;
  LaunchConfig& l_ = opts_.launch;
  EventLoop loop_;
  JobPlan plan_;     // the first plan (agents are its nodes)
  JobPlan current_;  // this round's plan (after shrinking)
  RoundPlan round_plan_;
  std::string run_id_, token_, master_addr_, self_exe_;
  int master_port_ = 0;
  bool slurm_ = false;
  std::vector<std::string> x_env_;  // resolved -x variables
  JobSpec spec_;
  std::string spec_sha256_;  // of spec_ as written to the store
  std::vector<Agent> agents_;
  std::vector<std::unique_ptr<Helper>> helpers_;  // stable: the loop holds pointers
  std::unique_ptr<store::StoreServer> server_;
  std::shared_ptr<store::Store> store_;
  std::unique_ptr<SequenceReader> events_;
  std::unique_ptr<LocalNode> node_;     // this machine's node services (launcher.h)
  NodeRunner* local_ = nullptr;         // node_'s runner when ranks run here
  std::vector<FailureRecord> history_;  // one failure per failed round
  int trace_fd_ = -1;                   // OGAI_RUN_TRACE
  int local_agent_ = -1;
  int64_t cmd_seq_ = 0;
  int round_ = 0;
  int restarts_done_ = 0;
  Phase phase_ = Phase::kJoining;
  std::optional<RankFailure> first_failure_;
  int interrupted_ = 0;  // the first SIGINT/SIGTERM/SIGHUP received
  int exit_code_ = 0;
  EventLoop::TimerId join_timer_ = 0;
  Clock::time_point start_time_ = Clock::now();
};

}  // namespace ogai::launch
