// The orphan guard: a small process that outlives its agent and kills what the agent's job
// left behind if the agent dies without cleaning up (SIGKILL, OOM killer, a crash).
//
// Start() forks it; it leaves the agent's session (so a Ctrl-C or a `kill -- -PGID` aimed at
// the agent does not reach it), points its stdio at /dev/null (so it never holds an ssh
// channel or a pipe open) and waits on a pipe only the agent can write. The agent tells it
// each rank's session id. When the agent says goodbye (Dismiss) the guard exits quietly; when
// the pipe closes without a goodbye, the agent is gone: the guard SIGKILLs every process
// whose environment carries the job marker (OGAI_AGENT_ID=...) and every process in the
// ranks' sessions, until none is left (bounded: 20 s), removes the job's temp folder (and
// the node's /dev/shm folders: shard copies, MPI segments) and exits.
//
// Start() must run before the process has threads (it forks and the child keeps running
// ordinary code).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::launch {

class OrphanGuard {
 public:
  // `also_remove`: more folders of the job to remove with tmpdir ("" entries are skipped).
  static Result<std::unique_ptr<OrphanGuard>> Start(const std::string& marker, const std::string& tmpdir,
                                                    const std::vector<std::string>& also_remove = {});
  ~OrphanGuard();  // Dismiss()
  void AddSession(pid_t sid);
  // Sends goodbye and reaps the guard.
  void Dismiss();
  pid_t pid() const { return pid_; }

 private:
  OrphanGuard() = default;
  pid_t pid_ = -1;
  int fd_ = -1;
};

}  // namespace ogai::launch
