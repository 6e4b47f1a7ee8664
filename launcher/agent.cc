// RunAgent: `ogai-run --agent`, the per-node agent on a node other than the launcher's.
//
// It reads its bootstrap line (stdin under ssh, OGAI_AGENT_BOOTSTRAP under srun), connects to
// the job's store, reads the job spec, sets up its LocalNode (local_node.h: temp folder,
// orphan guard, PMIx server, NodeRunner, shard cache; the launcher's own node is set up the
// same way), joins, and then follows the
// launcher's commands (protocol.h): run a round's ranks, stop them, forward a signal, exit.
// It reports each round's outcome as events and bumps its liveness key every 0.5 s. When the
// launcher goes away (end of input under ssh, SIGTERM from srun, or the store failing) it
// stops its ranks and exits.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <thread>

#include "core/log.h"
#include "launcher/console.h"
#include "launcher/hostfile.h"
#include "launcher/launcher.h"
#include "launcher/local_node.h"
#include "launcher/node_runner.h"
#include "launcher/process.h"
#include "launcher/protocol.h"
#include "launcher/remote.h"
#include "launcher/store_channel.h"
#include "rank/slurm_env.h"
#include "store/store.h"

namespace ogai::launch {
namespace {

using std::chrono::milliseconds;

class Agent {
 public:
  explicit Agent(const RunOptions& opts) : opts_(opts) {}
  int Run();

 private:
  Status Setup();
  void HandleCommand(const Command& c);
  void Publish(Event e);
  void LauncherGone(const std::string& why);
  void OnSignal();
  void OnStdin();
  void MaybeQuit();

  RunOptions opts_;
  Bootstrap boot_;
  bool boot_from_stdin_ = false;
  JobSpec spec_;
  int id_ = -1;
  std::string host_;
  EventLoop loop_;
  std::shared_ptr<store::Store> store_;
  std::unique_ptr<SequenceReader> commands_;
  std::unique_ptr<LocalNode> node_;
  NodeRunner* runner_ = nullptr;  // node_'s
  std::thread heartbeat_;
  std::mutex hb_mu_;
  std::condition_variable hb_cv_;
  bool hb_stop_ = false;
  int round_ = -1;
  bool exiting_ = false;
};

Status Agent::Setup() {
  std::string line;
  if (const char* b = std::getenv(kAgentBootstrapEnv)) {
    line = b;
    ::unsetenv(kAgentBootstrapEnv);
  } else {
    boot_from_stdin_ = true;
    char c;
    while (line.size() < 4096) {
      ssize_t n = ::read(STDIN_FILENO, &c, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || c == '\n') break;
      line += c;
    }
  }
  OGAI_ASSIGN_OR_RETURN(boot_, Bootstrap::Parse(line));
  auto s = store::ConnectTcpStore(boot_.store_host, boot_.store_port, boot_.token, milliseconds(30000));
  if (!s.ok()) return s.status().WithContext("agent: connecting to the job's store");
  store_ = std::shared_ptr<store::Store>(std::move(s).value());
  OGAI_ASSIGN_OR_RETURN(std::string spec_text, store_->Get(kSpecKey, milliseconds(10000)));
  OGAI_RETURN_IF_ERROR(VerifySpec(boot_, spec_text).WithContext("agent"));
  OGAI_ASSIGN_OR_RETURN(spec_, JobSpec::Parse(spec_text));
  char hn[HOST_NAME_MAX + 1] = {0};
  ::gethostname(hn, HOST_NAME_MAX);
  host_ = hn;
  id_ = boot_.agent_id;
  if (id_ < 0) {
    // Started by srun: find this node in the plan by Slurm's name for it.
    std::string me = SlurmNodeName(CurrentEnv());
    if (me.empty()) me = host_;
    for (size_t i = 0; i < spec_.agent_hosts.size(); ++i) {
      if (spec_.agent_hosts[i] == me) id_ = static_cast<int>(i);
    }
    if (id_ < 0) {
      for (size_t i = 0; i < spec_.agent_hosts.size(); ++i)
        if (IsLocalHost(spec_.agent_hosts[i])) id_ = static_cast<int>(i);
    }
    if (id_ < 0) return NotFound("agent: node '" + me + "' is not in the job's host list");
  }
  if (id_ >= static_cast<int>(spec_.agent_hosts.size())) {
    return InvalidArgument("agent: agent id " + std::to_string(id_) + " is not in the plan");
  }
  SetLogProcessName("ogai-run agent " + std::to_string(id_) + "@" + spec_.agent_hosts[static_cast<size_t>(id_)]);

  LocalNodeOptions lo;
  lo.tmp_prefix = "ogai-agent." + boot_.run_id + "." + std::to_string(id_);
  lo.run_id = boot_.run_id;
  lo.agent_id = id_;
  lo.shard_cache = spec_.shard_cache;
  lo.signals = {SIGCHLD, SIGINT, SIGTERM, SIGHUP};
  OGAI_ASSIGN_OR_RETURN(node_, LocalNode::Prepare(lo));  // before any thread starts

  NodeRunner::Callbacks cb;
  cb.on_failure = [this](const RankFailure& f) {
    Event e;
    e.type = Event::Type::kFailure;
    e.failure = f;
    Publish(e);
  };
  cb.on_success = [this] {
    Event e;
    e.type = Event::Type::kSuccess;
    Publish(e);
    MaybeQuit();
  };
  cb.on_stopped = [this] {
    Event e;
    e.type = Event::Type::kStopped;
    Publish(e);
    MaybeQuit();
  };
  // The shard cache listens where the launcher's store is reached from.
  // (never 0.0.0.0: docs/security.md).
  std::string bind;
  if (spec_.shard_cache) {
    auto addr = LocalAddressFacing(boot_.store_host);
    if (!addr.ok()) return addr.status().WithContext("agent: finding this node's address for its shard cache");
    bind = *addr;
  }
  OGAI_RETURN_IF_ERROR(node_->Start(loop_, store_, spec_.pmix, cb, bind, bind, boot_.token));
  runner_ = node_->runner();

  // Commands from now on (earlier ones were for agents that came before us).
  int64_t next = 0;
  auto nv = store_->TryGet(kCommandNextKey);
  if (nv.ok() && nv->has_value()) next = std::atoll((*nv)->c_str());
  commands_ = std::make_unique<SequenceReader>(
      store_, "agent/cmd/", kCommandNextKey, next,
      [this](int64_t, std::string v) {
        auto c = Command::Parse(v);
        loop_.Post([this, c] {
          if (c.ok()) {
            HandleCommand(*c);
          } else {
            OGAI_LOG(Warn) << c.status().ToString();
          }
        });
      },
      [this](Status st) { loop_.Post([this, st] { LauncherGone(st.ToString()); }); });

  // The job may have ended before we subscribed (protocol.h, agent/exit).
  auto ended = store_->TryGet(kExitKey);
  if (ended.ok() && ended->has_value()) {
    exiting_ = true;
    loop_.Post([this] { MaybeQuit(); });
  }

  heartbeat_ = std::thread([this] {
    int64_t beat = 0;
    std::unique_lock<std::mutex> lk(hb_mu_);
    while (!hb_stop_) {
      lk.unlock();
      (void)store_->Set(AgentHeartbeatKey(id_), std::to_string(++beat));
      lk.lock();
      hb_cv_.wait_for(lk, std::chrono::duration<double>(kAgentHeartbeatPeriod), [this] { return hb_stop_; });
    }
  });
  loop_.AddFd(node_->signal_fd(), POLLIN, [this](short) { OnSignal(); });
  if (boot_from_stdin_) loop_.AddFd(STDIN_FILENO, POLLIN, [this](short) { OnStdin(); });

  Event join;
  join.type = Event::Type::kJoin;
  join.host = host_;
  join.pid = ::getpid();
  join.cache = node_->cache_addr();
  Publish(join);
  return Status::Ok();
}

void Agent::Publish(Event e) {
  e.agent = id_;
  e.round = round_ < 0 ? 0 : round_;
  auto seq = store_->Add(kEventNextKey, 1);
  Status st = seq.ok() ? store_->Set(EventKey(*seq - 1), e.Serialize()) : seq.status();
  if (!st.ok()) LauncherGone("cannot report to the store: " + st.ToString());
}

void Agent::HandleCommand(const Command& c) {
  switch (c.type) {
    case Command::Type::kRound: {
      if (c.plan.NodeOf(id_) < 0 || exiting_) return;  // not part of this round
      round_ = c.plan.round;
      if (auto f = node_->StartRound(spec_, c.plan, boot_.token)) {
        Event e;
        e.type = Event::Type::kFailure;
        e.failure = *f;
        Publish(e);
        Event s;
        s.type = Event::Type::kStopped;
        Publish(s);
      }
      return;
    }
    case Command::Type::kStop:
      if (c.round == round_) runner_->Stop(c.signal, c.grace);
      return;
    case Command::Type::kSignal:
      if (c.round == round_) runner_->Signal(c.signal);
      return;
    case Command::Type::kExit:
      exiting_ = true;
      if (!runner_->idle()) runner_->Stop(SIGTERM, spec_.grace);
      MaybeQuit();
      return;
  }
}

void Agent::MaybeQuit() {
  if (exiting_ && runner_->idle()) loop_.Quit();
}

void Agent::LauncherGone(const std::string& why) {
  if (exiting_) return;
  exiting_ = true;
  OGAI_LOG(Warn) << "the launcher is gone (" << why << "); stopping this node's ranks";
  if (runner_->idle()) {
    loop_.Quit();
  } else {
    runner_->Stop(SIGTERM, spec_.grace);
  }
}

void Agent::OnStdin() {
  char buf[256];
  ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    loop_.RemoveFd(STDIN_FILENO);
    LauncherGone("its connection closed");
  }
}

void Agent::OnSignal() {
  signalfd_siginfo si;
  while (::read(node_->signal_fd(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGCHLD) {
      ReapChildren([this](pid_t pid, int st) { runner_->OnChildStatus(pid, st); });
    } else if (!exiting_) {
      LauncherGone("got " + SignalName(sig));
    } else if (!runner_->idle()) {
      runner_->Stop(SIGKILL, 0);
    }
  }
}

int Agent::Run() {
  Status st = Setup();
  int code = 0;
  if (!st.ok()) {
    console::Error(st.ToString());
    // Tell the launcher, if it can be reached, so it names this node at once.
    if (store_ && id_ >= 0) {
      Event e;
      e.type = Event::Type::kError;
      e.agent = id_;
      e.message = st.message();
      auto seq = store_->Add(kEventNextKey, 1);
      if (seq.ok()) (void)store_->Set(EventKey(*seq - 1), e.Serialize());
    }
    code = kExitLauncher;
  } else {
    loop_.Run();
  }
  {
    std::lock_guard<std::mutex> lk(hb_mu_);
    hb_stop_ = true;
  }
  hb_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  if (commands_) commands_->Stop();
  runner_ = nullptr;
  node_.reset();  // ranks, shard cache, PMIx server, guard, folders
  return code;
}

}  // namespace

int RunAgent(const RunOptions& opts) {
  Agent a(opts);
  return a.Run();
}

}  // namespace ogai::launch
