// RunLauncher: plan, services, agents, rounds, restarts, exit code. See launcher.h.
#include "launcher/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <random>

#include "core/file_io.h"
#include "launcher/failure.h"
#include "launcher/guard.h"
#include "launcher/hostfile.h"
#include "launcher/node_runner.h"
#include "launcher/plan.h"
#include "launcher/pmix_server.h"
#include "launcher/process.h"
#include "launcher/protocol.h"
#include "launcher/remote.h"
#include "rank/slurm_env.h"
#include "launcher/store_channel.h"
#include "core/log.h"
#include "store/server.h"
#include "store/store.h"

namespace ogai::launch {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long the first start waits for every remote agent to join.
constexpr double kInitialJoinTimeout = 60.0;
// How long the end of the job waits for agents to exit before they are killed.
constexpr double kAgentExitTimeout = 10.0;

std::string RandomHex(size_t bytes) {
  std::string out;
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  unsigned char buf[64];
  if (bytes > sizeof buf) bytes = sizeof buf;
  ssize_t n = fd >= 0 ? ::read(fd, buf, bytes) : -1;
  if (fd >= 0) ::close(fd);
  if (n != static_cast<ssize_t>(bytes)) {
    std::random_device rd;
    for (size_t i = 0; i < bytes; ++i) buf[i] = static_cast<unsigned char>(rd());
  }
  static const char* hex = "0123456789abcdef";
  for (size_t i = 0; i < bytes; ++i) {
    out += hex[buf[i] >> 4];
    out += hex[buf[i] & 15];
  }
  return out;
}

// Signals the launcher handles through a signalfd (blocked everywhere else).
sigset_t HandledSignals() {
  sigset_t s;
  sigemptyset(&s);
  for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&s, sig);
  return s;
}

}  // namespace

// Everything the launcher knows during a run. Touched only on the event loop's thread,
// except where noted.
class Launcher {
 public:
  explicit Launcher(const RunOptions& opts) : opts_(opts) {}
  int Run();

 private:
  enum class Phase { kJoining, kRunning, kStopping, kRejoining, kDone };
  enum class NodeState { kIdle, kRunning, kSucceeded, kStopped };

  struct Helper {
    pid_t pid = -1;
    std::vector<int> agents;
    int in_fd = -1;
    int out_fd = -1;
    int err_fd = -1;
    LineSplitter out_split, err_split;
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
    int helper = -1;       // index into helpers_
    std::optional<std::string> hb_value;
    Clock::time_point hb_changed;
    NodeState state = NodeState::kIdle;
    std::string cache;     // its shard cache "host:port" (checkpoint.peer_copies)
  };

  // Set-up (before the loop runs).
  Status Prepare();
  Status StartServices();
  Status StartHelpers(const std::vector<int>& agent_ids);
  // Loop handlers.
  void OnSignal();
  void OnHelperOutput(int h, bool is_stderr);
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
  double Elapsed() const { return std::chrono::duration<double>(Clock::now() - start_time_).count(); }
  bool AllRoundNodes(NodeState s) const;
  std::vector<int> RoundAgents() const;
  NodeRound LocalRound(const RoundPlan& plan, int agent_id) const;

  RunOptions opts_;
  LaunchConfig& l_ = opts_.launch;
  EventLoop loop_;
  JobPlan plan_;            // the first plan (agents are its nodes)
  JobPlan current_;         // this round's plan (after shrinking)
  RoundPlan round_plan_;
  std::string run_id_, token_, tmpdir_, master_addr_, self_exe_;
  int master_port_ = 0;
  bool slurm_ = false;
  std::vector<std::string> x_env_;  // resolved -x variables
  JobSpec spec_;
  std::vector<Agent> agents_;
  std::vector<Helper> helpers_;
  std::unique_ptr<OrphanGuard> guard_;
  std::unique_ptr<store::StoreServer> server_;
  std::shared_ptr<store::Store> store_;
  std::unique_ptr<SequenceReader> events_;
  std::unique_ptr<StoreFence> fence_;
  std::unique_ptr<PmixServer> pmix_;
  std::unique_ptr<NodeRunner> local_;
  std::unique_ptr<store::StoreServer> cache_;  // this node's shard cache (peer copies)
  std::string cache_addr_;
  std::string shard_dir_;                      // this node's shard copies (tmpfs)
  std::vector<FailureRecord> history_;         // one failure per failed round
  int trace_fd_ = -1;                          // OGAI_RUN_TRACE
  int local_agent_ = -1;
  int signal_fd_ = -1;
  int64_t cmd_seq_ = 0;
  int round_ = 0;
  int restarts_done_ = 0;
  Phase phase_ = Phase::kJoining;
  std::optional<RankFailure> first_failure_;
  int interrupted_ = 0;     // the first SIGINT/SIGTERM/SIGHUP received
  int exit_code_ = 0;
  EventLoop::TimerId join_timer_ = 0;
  Clock::time_point start_time_ = Clock::now();
};

Status Launcher::Prepare() {
  self_exe_ = SelfExecutable();
  // Hosts: -H / --hostfile, else the Slurm allocation, else this machine.
  PlanInput in;
  if (!l_.hosts.empty() && !l_.hostfile.empty()) {
    return InvalidArgument("give either --host or --hostfile, not both");
  }
  if (!l_.hostfile.empty()) {
    OGAI_ASSIGN_OR_RETURN(in.hosts, ReadHostfile(l_.hostfile));
    in.hosts_given = true;
    in.hosts_source = "hostfile " + l_.hostfile;
  } else if (!l_.hosts.empty()) {
    OGAI_ASSIGN_OR_RETURN(in.hosts, ParseHostList(l_.hosts));
    in.hosts_given = true;
    in.hosts_source = "--host " + l_.hosts;
  } else if (opts_.agent_launcher != "ssh") {
    OGAI_ASSIGN_OR_RETURN(auto alloc, DetectSlurmAllocation(CurrentEnv()));
    if (alloc) {
      for (size_t i = 0; i < alloc->hosts.size(); ++i) in.hosts.push_back({alloc->hosts[i], alloc->slots[i], 0});
      in.hosts_given = true;
      in.hosts_source = "the Slurm allocation (SLURM_JOB_NODELIST=" + alloc->nodelist + ")";
      slurm_ = true;
    }
  }
  if (opts_.agent_launcher == "slurm" && !slurm_) {
    return InvalidArgument("--agent-launcher slurm needs a Slurm allocation (SLURM_JOB_ID) and no "
                           "-H/--hostfile; run ogai-run inside sbatch or salloc");
  }
  in.np = l_.np;
  in.nproc_per_node = l_.nproc_per_node;
  OGAI_RETURN_IF_ERROR(ParseNnodes(l_.nnodes, &in.min_nodes, &in.max_nodes));
  in.map_by = l_.map_by;
  in.oversubscribe = l_.oversubscribe;
  OGAI_ASSIGN_OR_RETURN(plan_, MakeJobPlan(in));
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
      return InvalidArgument("-x " + x + ": " + x + " is not set in ogai-run's environment; "
                             "set it or write -x " + x + "=value");
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

Status Launcher::StartServices() {
  run_id_ = RandomHex(6);
  token_ = RandomHex(16);
  const char* tmp = std::getenv("TMPDIR");
  std::string base = (tmp != nullptr && *tmp) ? tmp : "/tmp";
  std::string templ = base + "/ogai-run." + run_id_ + ".XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return ErrnoError("creating a temp folder under " + base + " (set TMPDIR?)", errno);
  }
  tmpdir_ = buf.data();

  // The guard forks: it must exist before any thread does.
  if (local_agent_ >= 0) {
    if (opts_.shard_cache) {
      OGAI_ASSIGN_OR_RETURN(shard_dir_, CreateShardDir(run_id_, local_agent_, tmpdir_));
    }
    OGAI_ASSIGN_OR_RETURN(guard_, OrphanGuard::Start("OGAI_AGENT_ID=" + run_id_ + "." +
                                                         std::to_string(local_agent_),
                                                     tmpdir_, shard_dir_));
  }
  OGAI_RETURN_IF_ERROR(BecomeSubreaper());
  sigset_t handled = HandledSignals();
  ::sigprocmask(SIG_BLOCK, &handled, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = ::signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) return ErrnoError("signalfd", errno);

  // Where the nodes find the store.
  bool all_local = true;
  std::string first_remote;
  for (const Agent& a : agents_) {
    if (!IsLocalHost(a.host)) {
      all_local = false;
      if (first_remote.empty()) first_remote = a.host;
    }
  }
  std::string bind = "127.0.0.1";
  if (!l_.master_addr.empty()) {
    master_addr_ = l_.master_addr;
    bind = "0.0.0.0";
    if (master_addr_ == "127.0.0.1" || master_addr_ == "localhost") bind = "127.0.0.1";
  } else if (all_local) {
    master_addr_ = "127.0.0.1";
  } else {
    OGAI_ASSIGN_OR_RETURN(master_addr_, LocalAddressFacing(first_remote));
    bind = master_addr_;
  }
  auto server = store::StoreServer::Start(bind, l_.master_port, token_);
  if (!server.ok()) {
    return server.status().WithContext("starting the job's store on " + bind + ":" +
                                       std::to_string(l_.master_port) +
                                       (l_.master_port ? " (pick another --master-port)" : ""));
  }
  server_ = std::move(server).value();
  master_port_ = server_->port();
  OGAI_ASSIGN_OR_RETURN(auto client, store::ConnectTcpStore(bind == "0.0.0.0" ? "127.0.0.1" : bind,
                                                            master_port_, token_,
                                                            milliseconds(10000)));
  store_ = std::shared_ptr<store::Store>(std::move(client));

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
  OGAI_RETURN_IF_ERROR(store_->Set(kSpecKey, spec_.Serialize()));
  if (spec_.shard_cache && local_agent_ >= 0) {
    // This node's shard cache, beside the store: ranks keep their latest checkpoint shard
    // here, in memory that outlives them (docs/recovery.md).
    auto cache = store::StoreServer::Start(bind, 0, token_);
    if (!cache.ok()) return cache.status().WithContext("starting this node's shard cache on " + bind);
    cache_ = std::move(cache).value();
    cache_addr_ = master_addr_ + ":" + std::to_string(cache_->port());
  }
  OGAI_RETURN_IF_ERROR(store_->Set(kCommandNextKey, "0"));

  if (local_agent_ >= 0) {
    if (spec_.pmix) OGAI_RETURN_IF_ERROR(StartNodePmix(tmpdir_, store_, &pmix_, &fence_));
    NodeRunner::Callbacks cb;
    int me = local_agent_;
    cb.on_failure = [this, me](const RankFailure& f) { OnNodeFailure(me, f); };
    cb.on_success = [this, me] { OnNodeSuccess(me); };
    cb.on_stopped = [this, me] { OnNodeStopped(me); };
    local_ = std::make_unique<NodeRunner>(loop_, pmix_.get(), guard_.get(), cb);
    local_->SetHelperPredicate([this](pid_t p) {
      for (const Helper& h : helpers_)
        if (h.pid == p && !h.exited) return true;
      return false;
    });
    if (pmix_) ForwardPmixAborts(pmix_.get(), local_.get(), &loop_);
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
  loop_.AddFd(signal_fd_, POLLIN, [this](short) { OnSignal(); });
  return Status::Ok();
}

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
    int inp[2], outp[2], errp[2];
    if (::pipe2(inp, O_CLOEXEC) || ::pipe2(outp, O_CLOEXEC) || ::pipe2(errp, O_CLOEXEC)) {
      return ErrnoError("pipe", errno);
    }
    SpawnRequest req;
    req.argv = std::move(argv);
    req.env = OwnEnvironment();
    if (!stdin_bootstrap) req.env.push_back("OGAI_AGENT_BOOTSTRAP=" + b.Serialize());
    req.stdin_fd = inp[0];
    req.stdout_fd = outp[1];
    req.stderr_fd = errp[1];
    // ssh dies with us (its agent then sees end of input); srun gets SIGTERM, which it
    // forwards to the agents before it exits.
    req.parent_death_signal = stdin_bootstrap ? SIGKILL : SIGTERM;
    auto pid = Spawn(req);
    ::close(inp[0]);
    ::close(outp[1]);
    ::close(errp[1]);
    if (!pid.ok()) {
      for (int fd : {inp[1], outp[0], errp[0]}) ::close(fd);
      return pid.status().WithContext("starting " + req.argv[0] + " for the remote agents");
    }
    if (stdin_bootstrap) WriteAll(inp[1], b.Serialize() + "\n");
    Helper h;
    h.pid = *pid;
    h.agents = group;
    h.in_fd = inp[1];
    h.out_fd = outp[0];
    h.err_fd = errp[0];
    (void)SetNonBlockingCloexec(h.out_fd);
    (void)SetNonBlockingCloexec(h.err_fd);
    int idx = static_cast<int>(helpers_.size());
    helpers_.push_back(std::move(h));
    for (int a : group) {
      agents_[static_cast<size_t>(a)].helper = idx;
      agents_[static_cast<size_t>(a)].joined = false;
      agents_[static_cast<size_t>(a)].lost = false;
      agents_[static_cast<size_t>(a)].hb_value.reset();
    }
    loop_.AddFd(helpers_[static_cast<size_t>(idx)].out_fd, POLLIN,
                [this, idx](short) { OnHelperOutput(idx, false); });
    loop_.AddFd(helpers_[static_cast<size_t>(idx)].err_fd, POLLIN,
                [this, idx](short) { OnHelperOutput(idx, true); });
    OGAI_LOG(Info) << "started " << helpers_[static_cast<size_t>(idx)].pid << ": "
                   << req.argv[0] << " for " << group.size() << " agent(s)";
    return Status::Ok();
  };
  if (slurm_) {
    std::vector<std::string> hosts;
    for (int a : ids) hosts.push_back(agents_[static_cast<size_t>(a)].host);
    return spawn_helper(ids, SrunAgentCommand(hosts, self_exe_, opts_.verbosity), false);
  }
  for (int a : ids) {
    OGAI_RETURN_IF_ERROR(spawn_helper(
        {a}, SshAgentCommand(agents_[static_cast<size_t>(a)].host, self_exe_, opts_.verbosity),
        true));
  }
  return Status::Ok();
}

void Launcher::OnHelperOutput(int idx, bool is_stderr) {
  Helper& h = helpers_[static_cast<size_t>(idx)];
  int& fd = is_stderr ? h.err_fd : h.out_fd;
  LineSplitter& split = is_stderr ? h.err_split : h.out_split;
  auto sink = [&](std::string_view line) {
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
    WriteAll(is_stderr ? STDERR_FILENO : STDOUT_FILENO, text);
  };
  char buf[65536];
  for (int i = 0; i < 16 && fd >= 0; ++i) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      split.Append(buf, static_cast<size_t>(n), sink);
      continue;
    }
    if (n < 0 && (errno == EINTR)) continue;
    if (n < 0 && errno == EAGAIN) return;
    split.Finish(sink);
    loop_.RemoveFd(fd);
    ::close(fd);
    fd = -1;
  }
}

void Launcher::OnHelperExit(int idx, int status) {
  Helper& h = helpers_[static_cast<size_t>(idx)];
  h.exited = true;
  h.status = status;
  OnHelperOutput(idx, false);
  OnHelperOutput(idx, true);
  if (h.in_fd >= 0) {
    ::close(h.in_fd);
    h.in_fd = -1;
  }
  if (phase_ == Phase::kDone) return;
  std::string what = std::string(slurm_ ? "srun" : "ssh") + " exited with " +
                     DescribeWaitStatus(status);
  if (!slurm_ && WIFEXITED(status) && WEXITSTATUS(status) == 255) {
    what += " (no connection, or the connection or the agent died)";
  }
  std::string tail;
  for (const std::string& l : h.err_tail.lines()) tail += "\n    | " + l;
  for (int a : h.agents) {
    if (!agents_[static_cast<size_t>(a)].lost) OnAgentLost(a, what + tail);
  }
}

void Launcher::OnSignal() {
  signalfd_siginfo si;
  while (::read(signal_fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGCHLD) {
      ReapChildren([this](pid_t pid, int st) {
        if (local_ && local_->OnChildStatus(pid, st)) return;
        for (size_t i = 0; i < helpers_.size(); ++i) {
          if (helpers_[i].pid == pid && !helpers_[i].exited &&
              (WIFEXITED(st) || WIFSIGNALED(st))) {
            OnHelperExit(static_cast<int>(i), st);
          }
        }
      });
      continue;
    }
    if (sig == SIGUSR1 || sig == SIGUSR2) {
      if (phase_ == Phase::kRunning) {
        if (local_) local_->Signal(sig);
        Command c;
        c.type = Command::Type::kSignal;
        c.round = round_;
        c.signal = sig;
        Broadcast(c);
      }
      continue;
    }
    // SIGINT, SIGTERM, SIGHUP.
    if (phase_ == Phase::kDone) continue;
    if (interrupted_ == 0) {
      interrupted_ = sig;
      WriteAll(STDERR_FILENO, "ogai-run: got " + SignalName(sig) +
                                  ", forwarding it to every rank (send it again to kill them at "
                                  "once)\n");
      if (phase_ == Phase::kJoining || phase_ == Phase::kRejoining) {
        Finish(128 + sig);
      } else if (phase_ == Phase::kRunning) {
        phase_ = Phase::kStopping;
        StopAll(sig, l_.grace);
      } else {
        StopAll(sig, l_.grace);
      }
    } else {
      WriteAll(STDERR_FILENO, "ogai-run: got " + SignalName(sig) + " again, killing every rank\n");
      StopAll(SIGKILL, 0);
    }
  }
}

void Launcher::Broadcast(const Command& c) {
  if (!store_) return;
  bool any_remote = false;
  for (const Agent& a : agents_) any_remote |= !a.local;
  if (!any_remote) return;
  int64_t seq = cmd_seq_++;
  Status st = store_->Set(CommandKey(seq), c.Serialize());
  if (st.ok()) st = store_->Set(kCommandNextKey, std::to_string(seq + 1));
  if (!st.ok()) FatalStore(st);
}

void Launcher::FatalStore(const Status& st) {
  if (phase_ == Phase::kDone) return;
  LogLine(LogLevel::Error, "the job's store failed: " + st.ToString());
  if (!first_failure_) {
    RankFailure f;
    f.kind = RankFailure::Kind::kAgentLost;
    f.detail = "the job's store failed: " + st.message();
    first_failure_ = f;
    RecordFailure(f);
  }
  l_.max_restarts = restarts_done_;  // no restart without a store
  if (phase_ == Phase::kRunning) {
    phase_ = Phase::kStopping;
    StopAll(SIGTERM, l_.grace);
  } else if (phase_ != Phase::kStopping) {
    Finish(kExitLauncher);
  }
}

void Launcher::OnEvent(const Event& e) {
  if (e.agent < 0 || e.agent >= static_cast<int>(agents_.size())) return;
  Agent& a = agents_[static_cast<size_t>(e.agent)];
  switch (e.type) {
    case Event::Type::kJoin:
      OGAI_LOG(Info) << "agent " << e.agent << " joined from " << e.host << " (pid " << e.pid
                     << ")";
      a.joined = true;
      a.cache = e.cache;
      a.hb_changed = Clock::now();
      a.hb_value.reset();
      if (a.helper >= 0) {
        Helper& h = helpers_[static_cast<size_t>(a.helper)];
        bool all = true;
        for (int id : h.agents) all &= agents_[static_cast<size_t>(id)].joined;
        if (all && !h.joined) {
          h.joined = true;
          for (const std::string& l : h.held) WriteAll(STDERR_FILENO, l);
          h.held.clear();
        }
      }
      CheckJoined();
      return;
    case Event::Type::kError: {
      RankFailure f;
      f.kind = RankFailure::Kind::kSpawnFailed;
      f.node_rank = current_.nodes.empty() ? e.agent : round_plan_.NodeOf(e.agent);
      f.host = a.host;
      f.detail = e.message;
      if (phase_ == Phase::kJoining || phase_ == Phase::kRejoining) {
        a.lost = true;
        a.lost_reason = e.message;
        LogLine(LogLevel::Error, "the agent on " + a.host + " failed: " + e.message);
        Finish(kExitLauncher);
        return;
      }
      OnNodeFailure(e.agent, f);
      return;
    }
    default:
      break;
  }
  if (e.round != round_) return;  // a late event of an earlier round
  switch (e.type) {
    case Event::Type::kFailure: OnNodeFailure(e.agent, e.failure); break;
    case Event::Type::kSuccess: OnNodeSuccess(e.agent); break;
    case Event::Type::kStopped: OnNodeStopped(e.agent); break;
    default: break;
  }
}

std::vector<int> Launcher::RoundAgents() const { return round_plan_.agents; }

bool Launcher::AllRoundNodes(NodeState s) const {
  for (int id : RoundAgents()) {
    const Agent& a = agents_[static_cast<size_t>(id)];
    if (a.lost) {
      if (s == NodeState::kSucceeded) return false;
      continue;  // a lost node has nothing left to stop
    }
    if (a.state != s) return false;
  }
  return true;
}

void Launcher::CheckJoined() {
  if (phase_ != Phase::kJoining && phase_ != Phase::kRejoining) return;
  for (const Agent& a : agents_) {
    if (!a.dropped && !a.joined) return;
  }
  if (join_timer_) loop_.Cancel(join_timer_);
  join_timer_ = 0;
  OGAI_LOG(Info) << "every agent joined after "
                 << std::chrono::duration<double>(Clock::now() - start_time_).count() << " s";
  StartRound();
}

NodeRound Launcher::LocalRound(const RoundPlan& plan, int agent_id) const {
  NodeRound r;
  r.run_id = run_id_;
  r.round = plan.round;
  r.max_restarts = l_.max_restarts;
  r.agent_id = agent_id;
  r.node_rank = plan.NodeOf(agent_id);
  r.host = agents_[static_cast<size_t>(agent_id)].host;
  r.hosts = plan.hosts;
  r.node_ranks = plan.node_ranks;
  r.argv = spec_.argv;
  r.env = RankBaseEnv(OwnEnvironment(), spec_.env);
  r.cwd = spec_.cwd;
  r.master_addr = master_addr_;
  r.master_port = master_port_;
  r.token = token_;
  r.output = spec_.output;
  r.heartbeat_timeout = spec_.heartbeat_timeout;
  r.grace = spec_.grace;
  r.bind_cores = spec_.bind_cores;
  r.oversubscribe = spec_.oversubscribe;
  r.pmix = spec_.pmix;
  r.tmpdir = tmpdir_;
  r.elastic = spec_.elastic;
  if (spec_.shard_cache) r.caches = plan.caches;
  r.shard_dir = shard_dir_;
  return r;
}

void Launcher::StartRound() {
  round_plan_ = RoundPlan();
  round_plan_.round = round_;
  for (const NodePlan& n : current_.nodes) {
    round_plan_.agents.push_back(n.agent);
    round_plan_.hosts.push_back(n.host);
    round_plan_.node_ranks.push_back(n.ranks);
    if (spec_.shard_cache) {
      round_plan_.caches.push_back(n.agent == local_agent_ ? cache_addr_
                                                            : agents_[static_cast<size_t>(n.agent)].cache);
    }
  }
  for (Agent& a : agents_) a.state = NodeState::kIdle;
  for (int id : round_plan_.agents) agents_[static_cast<size_t>(id)].state = NodeState::kRunning;
  first_failure_.reset();
  phase_ = Phase::kRunning;
  OGAI_LOG(Info) << "round " << round_ << ": " << current_.Describe();
  Trace("round_start");
  Command c;
  c.type = Command::Type::kRound;
  c.plan = round_plan_;
  Broadcast(c);
  if (local_agent_ >= 0 && round_plan_.NodeOf(local_agent_) >= 0) {
    if (fence_) fence_->SetNode(round_plan_.NodeOf(local_agent_));
    Status st = local_->Start(LocalRound(round_plan_, local_agent_));
    if (!st.ok()) {
      RankFailure f;
      f.kind = RankFailure::Kind::kSpawnFailed;
      f.node_rank = round_plan_.NodeOf(local_agent_);
      f.host = agents_[static_cast<size_t>(local_agent_)].host;
      f.detail = st.message();
      agents_[static_cast<size_t>(local_agent_)].state = NodeState::kStopped;
      OnNodeFailure(local_agent_, f);
    }
  }
}

void Launcher::OnNodeFailure(int agent, const RankFailure& f) {
  if (phase_ != Phase::kRunning) {
    OGAI_LOG(Debug) << "while stopping: " << f.Headline();
    return;
  }
  first_failure_ = f;
  RecordFailure(f);
  OGAI_LOG(Info) << "first failure: " << f.Headline() << "; stopping every rank";
  phase_ = Phase::kStopping;
  StopAll(SIGTERM, l_.grace);
}

void Launcher::OnNodeSuccess(int agent) {
  Agent& a = agents_[static_cast<size_t>(agent)];
  if (phase_ != Phase::kRunning) {
    // Finished while the others were being stopped: it has nothing left to stop.
    a.state = NodeState::kStopped;
    if (phase_ == Phase::kStopping && AllRoundNodes(NodeState::kStopped)) AfterStop();
    return;
  }
  a.state = NodeState::kSucceeded;
  if (AllRoundNodes(NodeState::kSucceeded)) {
    OGAI_LOG(Info) << "every rank exited 0 after "
                   << std::chrono::duration<double>(Clock::now() - start_time_).count() << " s";
    Finish(0);
  }
}

void Launcher::OnNodeStopped(int agent) {
  agents_[static_cast<size_t>(agent)].state = NodeState::kStopped;
  if (phase_ == Phase::kStopping && AllRoundNodes(NodeState::kStopped)) AfterStop();
}

void Launcher::OnAgentLost(int agent, const std::string& reason) {
  Agent& a = agents_[static_cast<size_t>(agent)];
  if (a.lost || a.dropped) return;
  a.lost = true;
  a.lost_reason = reason;
  // An ssh whose agent is gone (or frozen, or cut off) goes too: the agent, should it come
  // back, then sees the end of its input and stops its ranks.
  if (a.helper >= 0 && !slurm_) {
    Helper& h = helpers_[static_cast<size_t>(a.helper)];
    if (!h.exited) ::kill(h.pid, SIGKILL);
  }
  if (phase_ == Phase::kDone) return;
  if (phase_ == Phase::kJoining) {
    LogLine(LogLevel::Error, "cannot start the agent on host " + a.host + ": " + reason +
                                 "\n  (check that `ssh " + a.host +
                                 " true` works without a password, and that " + self_exe_ +
                                 " exists there)");
    Finish(kExitLauncher);
    return;
  }
  if (phase_ == Phase::kRejoining) return;  // the join deadline decides
  RankFailure f;
  f.kind = RankFailure::Kind::kAgentLost;
  f.node_rank = round_plan_.NodeOf(agent);
  f.host = a.host;
  f.detail = reason;
  if (phase_ == Phase::kRunning) {
    OnNodeFailure(agent, f);
  } else if (phase_ == Phase::kStopping && AllRoundNodes(NodeState::kStopped)) {
    AfterStop();
  }
}

void Launcher::CheckAgentHeartbeats() {
  if (phase_ == Phase::kDone || !store_) return;
  auto now = Clock::now();
  for (Agent& a : agents_) {
    if (a.local || !a.joined || a.lost || a.dropped) continue;
    auto v = store_->TryGet(AgentHeartbeatKey(a.id));
    if (!v.ok()) return;  // the reader reports store failures
    if (*v != a.hb_value) {
      a.hb_value = *v;
      a.hb_changed = now;
      continue;
    }
    double silent = std::chrono::duration<double>(now - a.hb_changed).count();
    if (silent > kAgentLostAfter) {
      char msg[128];
      std::snprintf(msg, sizeof msg, "no heartbeat from its agent in the store for %.1f s", silent);
      OnAgentLost(a.id, msg);
    }
  }
}

void Launcher::StopAll(int sig, double grace) {
  if (local_) local_->Stop(sig, grace);
  Command c;
  c.type = Command::Type::kStop;
  c.round = round_;
  c.signal = sig;
  c.grace = grace;
  Broadcast(c);
}

void Launcher::AfterStop() {
  if (phase_ != Phase::kStopping) return;
  Trace("stopped");
  if (interrupted_ != 0) {
    RankFailure f;
    f.kind = RankFailure::Kind::kInterrupted;
    f.signal = interrupted_;
    WriteAll(STDERR_FILENO, "ogai-run: " + f.Headline() + "; every rank has ended\n");
    Finish(f.ExitCode());
    return;
  }
  RankFailure f = first_failure_.value_or(RankFailure());
  if (restarts_done_ < l_.max_restarts) {
    ++restarts_done_;
    ++round_;
    WriteAll(STDERR_FILENO, "ogai-run: " + f.Headline() + "; restarting the group (restart " +
                                std::to_string(restarts_done_) + " of " +
                                std::to_string(l_.max_restarts) + ")\n");
    std::vector<int> lost;
    for (const Agent& a : agents_)
      if (a.lost && !a.dropped) lost.push_back(a.id);
    if (lost.empty()) {
      StartRound();
      return;
    }
    // Start the lost nodes' agents again and give them --rejoin-timeout to come back.
    phase_ = Phase::kRejoining;
    Status st = StartHelpers(lost);
    if (!st.ok()) LogLine(LogLevel::Warn, st.ToString());
    join_timer_ = loop_.After(l_.rejoin_timeout, [this] {
      join_timer_ = 0;
      std::vector<int> gone;
      for (Agent& a : agents_) {
        if (!a.dropped && !a.joined) gone.push_back(a.id);
      }
      int survivors = 0;
      for (const Agent& a : agents_) survivors += (!a.dropped && a.joined) ? 1 : 0;
      if (survivors < std::max(1, plan_.min_nodes)) {
        RankFailure lf = first_failure_.value_or(RankFailure());
        WriteAll(STDERR_FILENO, "ogai-run: " + std::to_string(gone.size()) +
                                    " node(s) did not rejoin within --rejoin-timeout; " +
                                    std::to_string(survivors) + " left, " +
                                    std::to_string(plan_.min_nodes) + " needed\n");
        WriteAll(STDERR_FILENO, FormatRootCause(lf, history_));
        Finish(lf.ExitCode());
        return;
      }
      std::vector<int> gone_nodes;
      for (int id : gone) {
        agents_[static_cast<size_t>(id)].dropped = true;
        for (const NodePlan& n : current_.nodes)
          if (n.agent == id) gone_nodes.push_back(n.node_rank);
      }
      current_ = ShrinkPlan(current_, gone_nodes);
      WriteAll(STDERR_FILENO, "ogai-run: continuing without " + std::to_string(gone.size()) +
                                  " node(s): " + current_.Describe() + "\n");
      StartRound();
    });
    CheckJoined();
    return;
  }
  WriteAll(STDERR_FILENO, FormatRootCause(f, history_));
  Finish(f.ExitCode());
}

void Launcher::RecordFailure(const RankFailure& f) {
  history_.push_back({round_, Elapsed(), f});
  Trace("failure", f.Headline());
}

void Launcher::Trace(const std::string& event, const std::string& detail) {
  if (trace_fd_ < 0) return;
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  char head[160];
  std::snprintf(head, sizeof head, "{\"unix_ms\": %.3f, \"event\": \"%s\", \"round\": %d",
                static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6, event.c_str(),
                round_);
  std::string line = head;
  if (!detail.empty()) {
    std::string esc;
    for (char c : detail) {
      if (c == '"' || c == '\\') esc += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) esc += c;
    }
    line += ", \"detail\": \"" + esc + "\"";
  }
  line += "}\n";
  WriteAll(trace_fd_, line);
}

void Launcher::Finish(int code) {
  if (phase_ == Phase::kDone) return;
  phase_ = Phase::kDone;
  Trace("finish", "exit code " + std::to_string(code));
  exit_code_ = code;
  if (join_timer_) loop_.Cancel(join_timer_);
  if (store_ && !helpers_.empty()) (void)store_->Set(kExitKey, "1");
  Command c;
  c.type = Command::Type::kExit;
  Broadcast(c);
  // Agents exit on their own once told; ssh/srun then end. Give them a bounded while.
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(kAgentExitTimeout + l_.grace));
  loop_.Every(0.02, [this, deadline] {
    bool all_gone = true;
    for (Helper& h : helpers_) all_gone &= h.exited;
    bool local_idle = !local_ || local_->idle();
    if (all_gone && local_idle) {
      loop_.Quit();
      return;
    }
    if (Clock::now() > deadline) {
      for (Helper& h : helpers_) {
        if (!h.exited) {
          OGAI_LOG(Warn) << "agent helper " << h.pid << " did not exit; killing it";
          ::kill(h.pid, SIGKILL);
        }
      }
      if (local_ && !local_->idle()) local_->Stop(SIGKILL, 0);
      if (Clock::now() > deadline + std::chrono::seconds(5)) loop_.Quit();
    }
  });
}

int Launcher::Run() {
  if (const char* t = std::getenv("OGAI_RUN_TRACE"); t != nullptr && *t != '\0') {
    trace_fd_ = ::open(t, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (trace_fd_ < 0) {
      LogLine(LogLevel::Error, "OGAI_RUN_TRACE=" + std::string(t) + ": cannot open it: " + std::strerror(errno));
      return kExitUsage;
    }
  }
  Status st = Prepare();
  if (!st.ok()) {
    LogLine(LogLevel::Error, st.ToString());
    return kExitUsage;
  }
  st = StartServices();
  if (!st.ok()) {
    LogLine(LogLevel::Error, st.ToString());
    if (guard_) guard_->Dismiss();
    if (!tmpdir_.empty()) std::filesystem::remove_all(tmpdir_);
    if (!shard_dir_.empty()) std::filesystem::remove_all(shard_dir_);
    return kExitLauncher;
  }
  std::vector<int> remote;
  for (const Agent& a : agents_)
    if (!a.local) remote.push_back(a.id);
  st = StartHelpers(remote);
  if (!st.ok()) {
    LogLine(LogLevel::Error, st.ToString());
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
          OnAgentLost(a.id, "its agent did not join within " +
                                std::to_string(static_cast<int>(timeout)) + " s");
        }
      }
    });
    loop_.Every(kAgentHeartbeatPeriod / 2, [this] { CheckAgentHeartbeats(); });
  }
  loop_.Run();

  // Tear-down: readers before the store they read, the store before the PMIx server.
  if (events_) events_->Stop();
  for (Helper& h : helpers_) {
    for (int* fd : {&h.in_fd, &h.out_fd, &h.err_fd}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
    if (!h.exited) {
      ::kill(h.pid, SIGKILL);
      int s;
      ::waitpid(h.pid, &s, 0);
    }
  }
  fence_.reset();
  local_.reset();
  store_.reset();
  if (server_) server_->Stop();
  cache_.reset();
  if (trace_fd_ >= 0) ::close(trace_fd_);
  pmix_.reset();
  if (guard_) guard_->Dismiss();
  std::error_code ec;
  std::filesystem::remove_all(tmpdir_, ec);
  if (!shard_dir_.empty()) std::filesystem::remove_all(shard_dir_, ec);
  return exit_code_;
}

int RunLauncher(const RunOptions& opts) {
  Launcher l(opts);
  return l.Run();
}

}  // namespace ogai::launch
