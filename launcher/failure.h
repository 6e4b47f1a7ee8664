// What went wrong with a job, and the exit code and root-cause block that report it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::launch {

// Exit codes of ogai-run besides a rank's own (docs/launcher.md).
inline constexpr int kExitUsage = 2;       // bad command line, config or hostfile
inline constexpr int kExitHung = 124;      // a rank stopped making progress
inline constexpr int kExitLauncher = 125;  // an agent or node was lost, or ogai-run failed

struct RankFailure {
  enum class Kind {
    kExited,       // exited with a non-zero code
    kSignaled,     // killed by a signal
    kHung,         // no progress (heartbeats stopped, or stopped by SIGSTOP) for too long
    kSpawnFailed,  // could not be started
    kAgentLost,    // its node's agent vanished (rank is -1: the whole node)
    kInterrupted,  // the user stopped the job (SIGINT/SIGTERM to ogai-run)
  };
  Kind kind = Kind::kExited;
  int node_rank = -1;
  std::string host;
  int rank = -1;  // -1: not one rank (agent lost, interrupted)
  int local_rank = -1;
  int64_t pid = 0;
  int exit_code = 0;        // kExited, kSpawnFailed
  int signal = 0;           // kSignaled, kInterrupted
  double idle_seconds = 0;  // kHung
  bool has_step = false;    // kHung: the rank had reported progress
  int64_t last_step = 0;
  std::string detail;  // MPI_Abort message, spawn error, how the agent was lost
  std::vector<std::string> stderr_tail;

  // The code ogai-run exits with for this failure.
  int ExitCode() const;
  // One line: "rank 2 (node 0, vm) exited with code 7".
  std::string Headline() const;
  // JSON, for the store.
  std::string Serialize() const;
  static Result<RankFailure> Parse(const std::string& json);
};

// One round's failure, kept for the history in the root-cause block.
struct FailureRecord {
  int round = 0;       // OGAI_RESTART_COUNT of the round that failed
  double seconds = 0;  // since ogai-run started
  RankFailure failure;
};

// The multi-line root-cause block ogai-run prints on stderr: `f` in detail and, when the job
// was restarted, one line per failed round from `history` (oldest first).
std::string FormatRootCause(const RankFailure& f, const std::vector<FailureRecord>& history = {});

}  // namespace ogai::launch
