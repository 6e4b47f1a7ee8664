// The processes that carry remote agents: one ssh per remote node, or one srun for all of
// them inside a Slurm allocation. Their output is relayed; their exit means the agents they
// carry are lost.
#include <signal.h>
#include <sys/wait.h>

#include "core/file_io.h"
#include "core/log.h"
#include "launcher/console.h"
#include "launcher/launcher_impl.h"
#include "launcher/process.h"
#include "launcher/remote.h"
#include "rank/contract.h"

namespace ogai::launch {

Status Launcher::StartHelpers(const std::vector<int>& ids) {
  if (ids.empty()) return Status::Ok();
  auto spawn_helper = [&](const std::vector<int>& group, std::vector<std::string> argv,
                          bool stdin_bootstrap) -> Status {
    Bootstrap b;
    b.run_id = run_id_;
    b.agent_id = group.size() == 1 && stdin_bootstrap ? group[0] : -1;
    b.store_host = master_addr_;
    b.store_port = master_port_;
    b.token = token_;
    b.spec_sha256 = spec_sha256_;
    SpawnRequest req;
    req.argv = std::move(argv);
    req.env = OwnEnvironment();
    if (!stdin_bootstrap) req.env.push_back(std::string(kAgentBootstrapEnv) + "=" + b.Serialize());
    // ssh dies with us (its agent then sees end of input); srun gets SIGTERM, which it
    // forwards to the agents before it exits.
    req.parent_death_signal = stdin_bootstrap ? SIGKILL : SIGTERM;
    std::string what = req.argv[0];
    int idx = static_cast<int>(helpers_.size());
    auto h = std::make_unique<Helper>();
    Status st = h->child.Start(std::move(req), true, loop_, [this, idx](std::string_view line, bool is_stderr) {
      OnHelperLine(idx, line, is_stderr);
    });
    if (!st.ok()) return st.WithContext("starting " + what + " for the remote agents");
    if (stdin_bootstrap) {
      WriteAll(h->child.stdin_fd(), b.Serialize() + "\n");
    }
    h->agents = group;
    helpers_.push_back(std::move(h));
    for (int a : group) {
      agents_[static_cast<size_t>(a)].helper = idx;
      agents_[static_cast<size_t>(a)].joined = false;
      agents_[static_cast<size_t>(a)].lost = false;
      agents_[static_cast<size_t>(a)].hb_value.reset();
    }
    OGAI_LOG(Info) << "started " << helpers_.back()->child.pid() << ": " << what << " for " << group.size()
                   << " agent(s)";
    return Status::Ok();
  };
  if (slurm_) {
    std::vector<std::string> hosts;
    for (int a : ids) hosts.push_back(agents_[static_cast<size_t>(a)].host);
    return spawn_helper(ids, SrunAgentCommand(hosts, self_exe_, opts_.verbosity), false);
  }
  for (int a : ids) {
    OGAI_RETURN_IF_ERROR(
        spawn_helper({a}, SshAgentCommand(agents_[static_cast<size_t>(a)].host, self_exe_, opts_.verbosity), true));
  }
  return Status::Ok();
}

void Launcher::OnHelperLine(int idx, std::string_view line, bool is_stderr) {
  Helper& h = *helpers_[static_cast<size_t>(idx)];
  // Agents write finished lines (tagged as asked); relay them whole.
  std::string text(line);
  text += '\n';
  // srun says this on clusters without a task plugin that binds; --cpu-bind=none is what we
  // want there anyway.
  if (is_stderr && slurm_ && line == "srun: cluster configuration lacks support for cpu binding") {
    return;
  }
  if (is_stderr) h.err_tail.Add(line);
  if (is_stderr && !h.joined) {
    if (h.held.size() < 100) h.held.push_back(text);
    return;
  }
  console::Relay(text, is_stderr);
}

void Launcher::OnHelperExit(int idx, int status) {
  Helper& h = *helpers_[static_cast<size_t>(idx)];
  h.exited = true;
  h.status = status;
  h.child.Drain();
  h.child.CloseStdin();
  if (phase_ == Phase::kDone) return;
  std::string what = std::string(slurm_ ? "srun" : "ssh") + " exited with " + DescribeWaitStatus(status);
  if (!slurm_ && WIFEXITED(status) && WEXITSTATUS(status) == 255) {
    what += " (no connection, or the connection or the agent died)";
  }
  std::string tail;
  for (const std::string& l : h.err_tail.lines()) tail += "\n    | " + l;
  for (int a : h.agents) {
    if (!agents_[static_cast<size_t>(a)].lost) OnAgentLost(a, what + tail);
  }
}

}  // namespace ogai::launch
