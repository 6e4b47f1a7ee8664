// RunLauncher's set-up and tear-down: the plan, the job's store and spec, this machine's
// LocalNode, the event readers; then the loop, then everything stopped in order. The rest of
// the Launcher is in agent_helpers.cc, launcher_events.cc and rounds.cc (launcher_impl.h).
#include "launcher/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/digest.h"
#include "core/file_io.h"
#include "core/knobs.h"
#include "core/log.h"
#include "launcher/console.h"
#include "launcher/hostfile.h"
#include "launcher/launcher_impl.h"
#include "launcher/plan.h"
#include "launcher/process.h"
#include "launcher/protocol.h"
#include "launcher/remote.h"
#include "launcher/store_channel.h"
#include "rank/slurm_env.h"
#include "store/server.h"
#include "store/store.h"

namespace ogai::launch {
namespace {

using std::chrono::milliseconds;

}  // namespace

Result<JobPlan> PlanJob(const RunOptions& opts, bool* slurm) {
  const LaunchConfig& l = opts.launch;
  *slurm = false;
  // Hosts: -H / --hostfile, else the Slurm allocation, else this machine.
  PlanInput in;
  if (!l.hosts.empty() && !l.hostfile.empty()) {
    return InvalidArgument("give either --host or --hostfile, not both");
  }
  if (!l.hostfile.empty()) {
    OGAI_ASSIGN_OR_RETURN(in.hosts, ReadHostfile(l.hostfile));
    in.hosts_given = true;
    in.hosts_source = "hostfile " + l.hostfile;
  } else if (!l.hosts.empty()) {
    OGAI_ASSIGN_OR_RETURN(in.hosts, ParseHostList(l.hosts));
    in.hosts_given = true;
    in.hosts_source = "--host " + l.hosts;
  } else if (opts.agent_launcher != "ssh") {
    OGAI_ASSIGN_OR_RETURN(auto alloc, DetectSlurmAllocation(CurrentEnv()));
    if (alloc) {
      for (size_t i = 0; i < alloc->hosts.size(); ++i) in.hosts.push_back({alloc->hosts[i], alloc->slots[i], 0});
      in.hosts_given = true;
      in.hosts_source = "the Slurm allocation (SLURM_JOB_NODELIST=" + alloc->nodelist + ")";
      *slurm = true;
    }
  }
  if (opts.agent_launcher == "slurm" && !*slurm) {
    return InvalidArgument(
        "--agent-launcher slurm needs a Slurm allocation (SLURM_JOB_ID) and no "
        "-H/--hostfile; run ogai-run inside sbatch or salloc");
  }
  in.np = l.np;
  in.nproc_per_node = l.nproc_per_node;
  OGAI_RETURN_IF_ERROR(ParseNnodes(l.nnodes, &in.min_nodes, &in.max_nodes));
  in.map_by = l.map_by;
  in.oversubscribe = l.oversubscribe;
  return MakeJobPlan(in);
}

Status Launcher::Prepare() {
  self_exe_ = SelfExecutable();
  OGAI_ASSIGN_OR_RETURN(plan_, PlanJob(opts_, &slurm_));
  if (slurm_) {
    for (NodePlan& n : plan_.nodes) n.local = false;  // every node's agent is an srun task
  }
  current_ = plan_;

  // The program must exist here; remote nodes are assumed to share the path.
  if (opts_.program.empty()) return Internal("no program to run");
  std::string path_env = std::getenv("PATH") ? std::getenv("PATH") : "";
  auto resolved = ResolveProgram(opts_.program[0], path_env);
  if (!resolved.ok()) return resolved.status();

  // -x: VAR=value as given, VAR takes this environment's value.
  for (const std::string& x : l_.env) {
    if (x.find('=') != std::string::npos) {
      x_env_.push_back(x);
      continue;
    }
    const char* v = std::getenv(x.c_str());
    if (v == nullptr) {
      return InvalidArgument("-x " + x + ": " + x +
                             " is not set in ogai-run's environment; "
                             "set it or write -x " +
                             x + "=value");
    }
    x_env_.push_back(x + "=" + v);
  }
  if (l_.output_filename.size() && l_.output_filename[0] != '/') {
    l_.output_filename = std::filesystem::absolute(l_.output_filename).string();
  }
  for (const NodePlan& n : plan_.nodes) {
    Agent a;
    a.id = n.node_rank;
    a.host = n.host;
    a.local = n.local;
    a.joined = n.local;
    agents_.push_back(a);
    if (n.local) {
      if (local_agent_ >= 0) {
        return InvalidArgument("this machine appears twice in the host list (" +
                               agents_[static_cast<size_t>(local_agent_)].host + " and " + n.host +
                               "); name it once with the sum of its slots");
      }
      local_agent_ = a.id;
    }
  }
  OGAI_LOG(Info) << "plan: " << plan_.Describe();
  return Status::Ok();
}

// OGAI_RUN_STORE_FILE: "ADDR PORT TOKEN" for a supervisor of the job (ogai-sched asks the
// ranks for a checkpoint through the store). Written whole (rename) and readable only by us.
Status Launcher::WriteStoreFile() const {
  const std::optional<std::string> path = KnobText("OGAI_RUN_STORE_FILE");
  if (!path) return Status::Ok();
  const std::string tmp = *path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("OGAI_RUN_STORE_FILE=" + *path + ": cannot create " + tmp, errno);
  const std::string line = master_addr_ + " " + std::to_string(master_port_) + " " + token_ + "\n";
  Status st = WriteAllFd(fd, line.data(), line.size(), tmp);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path->c_str()) != 0) st = ErrnoError("cannot rename " + tmp, errno);
  return st;
}

Status Launcher::StartServices() {
  run_id_ = RandomHex(6);
  token_ = RandomHex(16);
  LocalNodeOptions lo;
  lo.tmp_prefix = "ogai-run." + run_id_;
  lo.run_id = run_id_;
  lo.agent_id = local_agent_;
  lo.shard_cache = opts_.shard_cache;
  lo.signals = {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
  OGAI_ASSIGN_OR_RETURN(node_, LocalNode::Prepare(lo));  // before any thread starts

  // Where the nodes find the store.
  bool all_local = true;
  std::string first_remote;
  for (const Agent& a : agents_) {
    if (!IsLocalHost(a.host)) {
      all_local = false;
      if (first_remote.empty()) first_remote = a.host;
    }
  }
  // The store listens only on the address the nodes are told (never 0.0.0.0): who can
  // reach the store is who can reach that address (docs/security.md).
  std::string bind = "127.0.0.1";
  if (!l_.master_addr.empty()) {
    master_addr_ = l_.master_addr;
    bind = master_addr_;
  } else if (all_local) {
    master_addr_ = "127.0.0.1";
  } else {
    OGAI_ASSIGN_OR_RETURN(master_addr_, LocalAddressFacing(first_remote));
    bind = master_addr_;
  }
  auto server = store::StoreServer::Start(bind, l_.master_port, token_);
  if (!server.ok()) {
    return server.status().WithContext(
        "starting the job's store on " + bind + ":" + std::to_string(l_.master_port) +
        (l_.master_port ? " (pick another --master-port)" : "") +
        (l_.master_addr.empty() ? "" : " (--master-addr must be an address of this host)"));
  }
  server_ = std::move(server).value();
  master_port_ = server_->port();
  OGAI_ASSIGN_OR_RETURN(auto client, store::ConnectTcpStore(bind, master_port_, token_, milliseconds(10000)));
  store_ = std::shared_ptr<store::Store>(std::move(client));
  OGAI_RETURN_IF_ERROR(WriteStoreFile());

  spec_.run_id = run_id_;
  spec_.argv = opts_.program;
  spec_.env = x_env_;
  spec_.cwd = std::filesystem::current_path().string();
  spec_.output = {l_.tag_output, l_.timestamp_output, l_.output_filename};
  spec_.heartbeat_timeout = l_.heartbeat_timeout;
  spec_.grace = l_.grace;
  spec_.bind_cores = l_.bind_to == "core";
  spec_.oversubscribe = l_.oversubscribe;
  spec_.pmix = opts_.mpi == "pmix";
  spec_.max_restarts = l_.max_restarts;
  spec_.master_addr = master_addr_;
  spec_.master_port = master_port_;
  spec_.verbosity = opts_.verbosity;
  for (const Agent& a : agents_) spec_.agent_hosts.push_back(a.host);
  spec_.elastic = plan_.min_nodes < static_cast<int>(plan_.nodes.size());
  spec_.shard_cache = opts_.shard_cache;
  const std::string spec_text = spec_.Serialize();
  spec_sha256_ = Sha256Hex(spec_text);  // every agent's bootstrap pins it
  OGAI_RETURN_IF_ERROR(store_->Set(kSpecKey, spec_text));
  OGAI_RETURN_IF_ERROR(store_->Set(kCommandNextKey, "0"));

  if (local_agent_ >= 0) {
    NodeRunner::Callbacks cb;
    int me = local_agent_;
    cb.on_failure = [this, me](const RankFailure& f) { OnNodeFailure(me, f); };
    cb.on_success = [this, me] { OnNodeSuccess(me); };
    cb.on_stopped = [this, me] { OnNodeStopped(me); };
    // The shard cache sits beside the store.
    OGAI_RETURN_IF_ERROR(node_->Start(loop_, store_, spec_.pmix, cb, bind, master_addr_, token_));
    local_ = node_->runner();
    local_->SetHelperPredicate([this](pid_t p) {
      for (const auto& h : helpers_)
        if (h->child.pid() == p && !h->exited) return true;
      return false;
    });
  }

  // Events from remote agents.
  bool any_remote = false;
  for (const Agent& a : agents_) any_remote |= !a.local;
  if (any_remote) {
    OGAI_RETURN_IF_ERROR(store_->Set(kEventNextKey, "0"));
    events_ = std::make_unique<SequenceReader>(
        store_, "agent/evt/", kEventNextKey, 0,
        [this](int64_t, std::string v) {
          auto e = Event::Parse(v);
          loop_.Post([this, e] {
            if (e.ok()) {
              OnEvent(*e);
            } else {
              OGAI_LOG(Warn) << e.status().ToString();
            }
          });
        },
        [this](Status st) { loop_.Post([this, st] { FatalStore(st); }); });
  }
  loop_.AddFd(node_->signal_fd(), POLLIN, [this](short) { OnSignal(); });
  return Status::Ok();
}

int Launcher::Run() {
  if (const std::optional<std::string> trace = KnobText("OGAI_RUN_TRACE")) {
    const char* t = trace->c_str();
    trace_fd_ = ::open(t, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (trace_fd_ < 0) {
      console::Error("OGAI_RUN_TRACE=" + std::string(t) + ": cannot open it: " + std::strerror(errno));
      return kExitUsage;
    }
  }
  Status st = Prepare();
  if (!st.ok()) {
    console::Error(st.ToString());
    return kExitUsage;
  }
  st = StartServices();
  if (!st.ok()) {
    console::Error(st.ToString());
    local_ = nullptr;
    node_.reset();  // guard, folders
    return kExitLauncher;
  }
  std::vector<int> remote;
  for (const Agent& a : agents_)
    if (!a.local) remote.push_back(a.id);
  st = StartHelpers(remote);
  if (!st.ok()) {
    console::Error(st.ToString());
    Finish(kExitLauncher);
  } else if (remote.empty()) {
    StartRound();
  } else {
    phase_ = Phase::kJoining;
    double timeout = std::max(kInitialJoinTimeout, l_.rejoin_timeout);
    join_timer_ = loop_.After(timeout, [this, timeout] {
      join_timer_ = 0;
      for (Agent& a : agents_) {
        if (!a.joined && !a.lost) {
          OnAgentLost(a.id, "its agent did not join within " + std::to_string(static_cast<int>(timeout)) + " s");
        }
      }
    });
    loop_.Every(kAgentHeartbeatPeriod / 2, [this] { CheckAgentHeartbeats(); });
  }
  // Ranks' identical warnings: held briefly, printed once naming the ranks.
  console::MergeRankWarnings(true);
  loop_.Every(0.25, [] { console::FlushWarnings(false); });
  loop_.Run();
  console::MergeRankWarnings(false);  // prints what is still held

  // Tear-down: readers before the store they read, the store before the PMIx server.
  if (events_) events_->Stop();
  std::vector<pid_t> running;
  for (const auto& h : helpers_)
    if (!h->exited) running.push_back(h->child.pid());
  helpers_.clear();  // closes their pipes
  for (pid_t pid : running) {
    ::kill(pid, SIGKILL);
    int s;
    ::waitpid(pid, &s, 0);
  }
  if (node_) node_->StopRanks();
  local_ = nullptr;
  store_.reset();
  if (server_) server_->Stop();
  if (trace_fd_ >= 0) ::close(trace_fd_);
  node_.reset();  // shard cache, PMIx server, guard, folders
  return exit_code_;
}

int RunLauncher(const RunOptions& opts) {
  Launcher l(opts);
  return l.Run();
}

}  // namespace ogai::launch
