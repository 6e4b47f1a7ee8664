// Processes: spawning with a clean slate, and finding and killing what a job left behind.
//
// Every rank is started in its own session (setsid: its own process group, no controlling
// terminal, so a Ctrl-C in the terminal reaches ogai-run only, which forwards it), with
// PR_SET_PDEATHSIG so it dies with its agent, with signal mask and dispositions reset, and with
// nothing but stdin/stdout/stderr open. The agent is a child subreaper
// (PR_SET_CHILD_SUBREAPER), so anything a rank leaves behind is re-parented to the agent
// rather than to init, and can be found and killed.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::launch {

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in `env`'s PATH
  std::vector<std::string> env;   // the complete environment, KEY=VALUE
  std::string cwd;                // "" keeps the current directory
  int stdin_fd = -1;              // -1: /dev/null
  int stdout_fd = -1;             // -1: inherit
  int stderr_fd = -1;             // -1: inherit
  bool new_session = true;
  int parent_death_signal = 9;  // SIGKILL; 0: none
  std::vector<int> cpus;        // pin to these CPUs (empty: no pinning)
};

// Starts the process. Failures before exec (no such program, not executable, bad cwd) are
// returned as a Status, not as a child that exits 127.
Result<pid_t> Spawn(const SpawnRequest& req);

// Finds `name` the way execvp would, in the PATH given ("" when absent: /usr/bin:/bin).
// A name with a '/' is checked as is. NotFound / PermissionDenied name the program and PATH.
Result<std::string> ResolveProgram(const std::string& name, const std::string& path_var);

// Makes this process a child subreaper.
Status BecomeSubreaper();

// Reaps children without blocking (waitpid(-1, WNOHANG|WUNTRACED|WCONTINUED)) and calls
// `on_status(pid, wait_status)` for each state change.
void ReapChildren(const std::function<void(pid_t, int)>& on_status);

// /proc scans. They skip this process and processes that vanish while being read.
std::vector<pid_t> ChildrenOf(pid_t parent);
// Processes whose initial environment contains exactly the entry `key_value` ("K=V").
std::vector<pid_t> ProcessesWithEnv(const std::string& key_value);
// Processes whose session id is in `sids`.
std::vector<pid_t> ProcessesInSessions(const std::set<pid_t>& sids);
// 'R', 'S', 'T', 'Z', ... from /proc/PID/stat; 0 if it does not exist.
char ProcessState(pid_t pid);
// True if the process exists and is not a zombie.
bool ProcessAlive(pid_t pid);

// "SIGKILL" (or "signal 42").
std::string SignalName(int sig);
// "exit code 7" / "signal 9 (SIGKILL)" / "stopped by SIGSTOP" for a wait status.
std::string DescribeWaitStatus(int status);

// Makes `fd` non-blocking and close-on-exec.
Status SetNonBlockingCloexec(int fd);

}  // namespace ogai::launch
