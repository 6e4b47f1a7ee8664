// How ogai-run and its agents talk through the job's store.
//
// Keys (all under "agent/"; ranks use "r<N>/" and never collide with them):
//   agent/spec            the JobSpec (JSON), written before any agent starts
//   agent/cmd/<seq>       commands from the launcher, in order (JSON Command)
//   agent/cmd/next        number of commands written so far
//   agent/exit            set (before the exit command) when the job is over, so an agent
//                         that subscribes after the exit command still learns of it
//   agent/evt/<seq>       events from agents (JSON Event); seq comes from Add(agent/evt/next)
//   agent/hb/<agent>      each agent's liveness counter, bumped every 0.5 s
//   agent/fence/<id>/<n>  node n's share of a PMIx fence that spans nodes
//
// An agent is known by its agent id: its index in the first launch plan, stable across
// restarts. A round's plan maps node ranks to agent ids (RoundPlan::agents), so a group that
// shrank after losing a node renumbers its nodes without renaming its agents.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "launcher/failure.h"
#include "launcher/output.h"

namespace ogai::launch {

inline constexpr double kAgentHeartbeatPeriod = 0.5;  // seconds between agent liveness bumps
inline constexpr double kAgentLostAfter = 4.0;        // seconds without a bump: agent lost

struct JobSpec {
  std::string run_id;
  std::vector<std::string> argv;
  std::vector<std::string> env;  // -x variables (KEY=VALUE) added to each node's environment
  std::string cwd;
  OutputOptions output;
  double heartbeat_timeout = 60.0;
  double grace = 10.0;
  bool bind_cores = false;
  bool oversubscribe = false;
  bool pmix = true;
  int max_restarts = 0;
  std::string master_addr;
  int master_port = 0;
  int verbosity = 0;
  std::vector<std::string> agent_hosts;  // by agent id
  bool elastic = false;                  // --nnodes MIN:MAX: ranks get OGAI_ELASTIC=1
  bool shard_cache = false;              // checkpoint.peer_copies: every agent serves a shard cache

  std::string Serialize() const;
  static Result<JobSpec> Parse(const std::string& json);
};

struct RoundPlan {
  int round = 0;
  std::vector<int> agents;                   // node rank -> agent id
  std::vector<std::string> hosts;            // node rank -> host
  std::vector<std::vector<int>> node_ranks;  // node rank -> global ranks (local-rank order)
  std::vector<std::string> caches;           // node rank -> its shard cache "host:port" (or empty)
  // The node rank of `agent_id`, or -1 if it sits this round out.
  int NodeOf(int agent_id) const;
};

struct Command {
  enum class Type { kRound, kStop, kSignal, kExit };
  Type type = Type::kExit;
  RoundPlan plan;    // kRound
  int round = 0;     // kStop, kSignal
  int signal = 0;    // kStop (SIGKILL: at once), kSignal
  double grace = 0;  // kStop
  std::string Serialize() const;
  static Result<Command> Parse(const std::string& json);
};

struct Event {
  enum class Type { kJoin, kFailure, kSuccess, kStopped, kError };
  Type type = Type::kError;
  int agent = -1;
  int round = 0;
  std::string host;     // kJoin: the agent's host name
  int64_t pid = 0;      // kJoin
  std::string cache;    // kJoin: its shard cache "host:port" ("" when it serves none)
  RankFailure failure;  // kFailure
  std::string message;  // kError
  std::string Serialize() const;
  static Result<Event> Parse(const std::string& json);
};

// "agent/cmd/3", ...
std::string CommandKey(int64_t seq);
std::string EventKey(int64_t seq);
std::string AgentHeartbeatKey(int agent);
inline constexpr const char* kSpecKey = "agent/spec";
inline constexpr const char* kCommandNextKey = "agent/cmd/next";
inline constexpr const char* kEventNextKey = "agent/evt/next";
inline constexpr const char* kExitKey = "agent/exit";

// The line an agent reads on stdin (ssh) or from OGAI_AGENT_BOOTSTRAP (srun):
//   "ogai-agent-v2 <run_id> <agent_id> <store_host> <store_port> <token> <spec_sha256>"
// agent_id "-" means "find yourself in the spec by host name" (srun: SLURMD_NODENAME).
// spec_sha256 pins the job spec: an agent refuses an `agent/spec` whose SHA-256 differs (a
// token holder rewriting the program every restarted agent runs; docs/security.md).
inline constexpr const char* kAgentBootstrapEnv = "OGAI_AGENT_BOOTSTRAP";
struct Bootstrap {
  std::string run_id;
  int agent_id = -1;
  std::string store_host;
  int store_port = 0;
  std::string token;
  std::string spec_sha256;  // 64 hex digits
  std::string Serialize() const;
  static Result<Bootstrap> Parse(const std::string& line);
};

// OK when `spec_text` is the spec `boot` pins; else an error naming both hashes.
Status VerifySpec(const Bootstrap& boot, const std::string& spec_text);

}  // namespace ogai::launch
