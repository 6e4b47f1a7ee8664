// Starting agents on other nodes: over ssh (one ssh per host) or with srun inside a Slurm
// allocation (one srun for all nodes, one task per node).
#pragma once

#include <string>
#include <vector>

#include "core/shell_quote.h"  // ShellQuote, used with RemoteCommand
#include "core/status.h"

namespace ogai::launch {

// ssh [OGAI_SSH_OPTS...] -o BatchMode=yes -T HOST exec '<agent_path>' --agent [-v...]
// OGAI_SSH_OPTS (split on spaces) comes first so that a test's `-F ssh_config` applies;
// OGAI_SSH (default "ssh") names the client.
std::vector<std::string> SshAgentCommand(const std::string& host, const std::string& agent_path, int verbosity);

// srun --nodes=N --ntasks=N --ntasks-per-node=1 --nodelist=h1,h2 --cpu-bind=none --mpi=none
//      --input=none --kill-on-bad-exit=0 --job-name=ogai-agent <agent_path> --agent
std::vector<std::string> SrunAgentCommand(const std::vector<std::string>& hosts, const std::string& agent_path,
                                          int verbosity);

// The address of this machine that `remote_host` would see our packets come from (the
// source address the kernel routes to it). Used as MASTER_ADDR when none is given.
Result<std::string> LocalAddressFacing(const std::string& remote_host);

// This process's own executable (/proc/self/exe).
std::string SelfExecutable();

}  // namespace ogai::launch
