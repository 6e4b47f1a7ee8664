#include "launcher/node_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/file_io.h"
#include "core/log.h"
#include "core/shm_segment.h"
#include "launcher/console.h"
#include "launcher/guard.h"
#include "launcher/piped_child.h"
#include "launcher/pmix_server.h"
#include "launcher/process.h"
#include "launcher/store_channel.h"
#include "rank/heartbeat.h"

namespace ogai::launch {

using Clock = std::chrono::steady_clock;

int NodeRound::world_size() const {
  int n = 0;
  for (const auto& r : node_ranks) n += static_cast<int>(r.size());
  return n;
}

std::string NodeRound::nspace() const { return "ogai." + run_id + "." + std::to_string(round); }

std::string AgentMarkerValue(const std::string& run_id, int agent_id, pid_t agent_pid) {
  return run_id + "." + std::to_string(agent_id) + "." + std::to_string(agent_pid);
}

std::string NodeRound::AgentId() const { return AgentMarkerValue(run_id, agent_id, agent_pid); }

std::string NodeRound::Marker() const { return std::string(kEnvAgentId) + "=" + AgentId(); }

struct NodeRunner::Rank {
  int rank = 0;
  int local_rank = 0;
  pid_t pid = -1;
  bool reaped = true;  // true until spawned
  int status = 0;
  PipedChild child;  // stdout and stderr on pipes, cut into lines
  LineTail tail{20};
  RankFiles files;
  uint64_t hb_count = 0;
  int64_t hb_step = 0;
  bool hb_armed = false;
  Clock::time_point last_progress;
  bool stopped = false;
  Clock::time_point stopped_since;
  std::string abort_msg;
};

NodeRunner::NodeRunner(EventLoop& loop, PmixServer* pmix, OrphanGuard* guard, Callbacks cb)
    : loop_(loop), pmix_(pmix), guard_(guard), cb_(std::move(cb)) {}

NodeRunner::~NodeRunner() {
  for (auto& r : ranks_) r->child.Close();
  for (auto id : {hb_timer_, tick_timer_, kill_timer_})
    if (id) loop_.Cancel(id);
}

int NodeRunner::live_ranks() const {
  int n = 0;
  for (const auto& r : ranks_) n += r->reaped ? 0 : 1;
  return n;
}

namespace {

std::vector<int> AllowedCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

std::string KeyOf(const std::string& kv) { return kv.substr(0, kv.find('=')); }

}  // namespace

Status NodeRunner::Start(const NodeRound& round) {
  if (state_ != State::kIdle) return Internal("NodeRunner::Start while a round is active");
  round_ = round;
  failure_reported_ = false;
  stop_requested_ = false;
  killed_ = false;
  ranks_.clear();
  sessions_.clear();
  signalled_.clear();
  pending_spawn_failures_.clear();
  const std::vector<int>& mine = round_.my_ranks();
  int nlocal = static_cast<int>(mine.size());

  std::vector<int> cpus;
  if (round_.bind_cores) {
    cpus = AllowedCpus();
    if (cpus.empty()) return Unavailable("--bind-to core: cannot read this process's CPU set");
    if (nlocal > static_cast<int>(cpus.size()) && !round_.oversubscribe) {
      return InvalidArgument("--bind-to core: " + std::to_string(nlocal) + " ranks on " + round_.host + " but only " +
                             std::to_string(cpus.size()) +
                             " cores are available; add --oversubscribe or use --bind-to none");
    }
  }
  std::string hb_path = round_.tmpdir + "/heartbeat." + std::to_string(round_.round);
  OGAI_ASSIGN_OR_RETURN(heartbeats_, HeartbeatTable::Create(hb_path, nlocal));

  bool user_schizo = false, user_shm = false, user_ucx_dir = std::getenv("UCX_POSIX_DIR") != nullptr;
  for (const std::string& kv : round_.env) {
    user_schizo |= kv.rfind("OMPI_MCA_schizo=", 0) == 0;
    user_shm |= kv.rfind("OMPI_MCA_btl_vader_backing_directory=", 0) == 0 ||
                kv.rfind("OMPI_MCA_btl_sm_backing_directory=", 0) == 0;
    user_ucx_dir |= kv.rfind("UCX_POSIX_DIR=", 0) == 0;
  }
  if (round_.pmix && pmix_ != nullptr) {
    PmixJob job;
    job.nspace = round_.nspace();
    job.node_rank = round_.node_rank;
    job.hosts = round_.hosts;
    job.node_ranks = round_.node_ranks;
    job.tmpdir = round_.tmpdir;
    OGAI_RETURN_IF_ERROR(pmix_->RegisterJob(job));
    pmix_registered_ = true;
  }

  // The contract (rank/contract.h); the per-rank fields are filled in below.
  RankEnv contract;
  contract.world_size = round_.world_size();
  contract.local_world_size = nlocal;
  contract.node_rank = round_.node_rank;
  contract.nnodes = static_cast<int>(round_.node_ranks.size());
  contract.master_addr = round_.master_addr;
  contract.master_port = round_.master_port;
  contract.store_token = round_.token;
  contract.restart_count = round_.round;
  contract.max_restarts = round_.max_restarts;
  contract.run_id = round_.run_id;
  contract.agent_id = round_.AgentId();
  contract.heartbeat_file = hb_path;
  contract.elastic = round_.elastic;
  for (const std::string& c : round_.caches) contract.shard_caches += (contract.shard_caches.empty() ? "" : ",") + c;
  contract.shard_dir = round_.shard_dir;

  auto now = Clock::now();
  for (int lr = 0; lr < nlocal; ++lr) {
    auto r = std::make_unique<Rank>();
    r->rank = mine[static_cast<size_t>(lr)];
    r->local_rank = lr;
    r->last_progress = now;
    Rank& rk = *r;
    ranks_.push_back(std::move(r));

    contract.rank = rk.rank;
    contract.local_rank = lr;
    contract.heartbeat_slot = lr;
    std::vector<std::string> extra = ToKeyValues(RankEnvVars(contract));
    if (!user_shm && !round_.mpi_shm_dir.empty()) {
      // Open MPI's shared-memory segments (4.x: vader, 5.x: sm) go to this job's folder, which
      // the agent (or, if the agent dies, its orphan guard) removes: a rank killed before
      // MPI_Finalize leaves nothing in /dev/shm.
      extra.push_back("OMPI_MCA_btl_vader_backing_directory=" + round_.mpi_shm_dir);
      extra.push_back("OMPI_MCA_btl_sm_backing_directory=" + round_.mpi_shm_dir);
    }
    if (!user_ucx_dir && !round_.mpi_shm_dir.empty()) {
      // UCX's posix shared-memory files (ucx_shm_posix_*) likewise: UCX unlinks each soon
      // after making it, but a rank killed in between left one in /dev/shm (seen after a test
      // run that kills ranks).
      extra.push_back("UCX_POSIX_DIR=" + round_.mpi_shm_dir);
    }
    Status st;
    if (round_.pmix && pmix_ != nullptr) {
      auto penv = pmix_->ClientEnv(round_.nspace(), rk.rank, user_schizo);
      if (penv.ok()) {
        extra.insert(extra.end(), penv->begin(), penv->end());
      } else {
        st = penv.status();
      }
    }
    std::set<std::string> keys;
    for (const std::string& kv : extra) keys.insert(KeyOf(kv));
    SpawnRequest req;
    req.argv = round_.argv;
    for (const std::string& kv : round_.env)
      if (!keys.count(KeyOf(kv))) req.env.push_back(kv);
    req.env.insert(req.env.end(), extra.begin(), extra.end());
    req.cwd = round_.cwd;
    if (round_.bind_cores) req.cpus = {cpus[static_cast<size_t>(lr) % cpus.size()]};
    if (st.ok() && !round_.output.dir.empty()) st = rk.files.Open(round_.output.dir, rk.rank);
    if (st.ok()) {
      Rank* rp = &rk;
      st = rk.child.Start(std::move(req), false, loop_,
                          [this, rp](std::string_view line, bool err) { EmitLine(*rp, err, line); });
    }
    if (!st.ok()) {
      RankFailure f = BaseFailure(rk);
      f.kind = RankFailure::Kind::kSpawnFailed;
      f.exit_code = 127;
      f.detail = st.message();
      pending_spawn_failures_.push_back(f);
      continue;
    }
    rk.pid = rk.child.pid();
    rk.reaped = false;
    if (guard_ != nullptr) guard_->AddSession(rk.pid);
    sessions_.insert(rk.pid);
    OGAI_LOG(Debug) << "started rank " << rk.rank << " (local " << lr << ") pid " << rk.pid << " on " << round_.host;
  }
  state_ = State::kRunning;
  if (round_.heartbeat_timeout > 0) {
    hb_timer_ = loop_.Every(0.1, [this] { CheckHeartbeats(); });
  }
  if (!pending_spawn_failures_.empty()) {
    RankFailure f = pending_spawn_failures_.front();
    loop_.Post([this, f] {
      if (state_ == State::kRunning) ReportFailure(f);
    });
  }
  return Status::Ok();
}

RankFailure NodeRunner::BaseFailure(const Rank& r) const {
  RankFailure f;
  f.node_rank = round_.node_rank;
  f.host = round_.host;
  f.rank = r.rank;
  f.local_rank = r.local_rank;
  f.pid = r.pid;
  f.detail = r.abort_msg;
  f.stderr_tail.assign(r.tail.lines().begin(), r.tail.lines().end());
  if (heartbeats_) {
    HeartbeatSample s = heartbeats_->Read(r.local_rank);
    f.has_step = s.armed;
    f.last_step = s.step;
  }
  return f;
}

void NodeRunner::EmitLine(Rank& r, bool is_stderr, std::string_view line) {
  std::string ts = round_.output.timestamp ? TimestampNow() : std::string();
  std::string text = FormatLine(line, r.rank, round_.output, ts);
  if (cb_.on_output) {
    cb_.on_output(text, is_stderr);
  } else {
    console::Relay(text, is_stderr);
  }
  if (is_stderr) r.tail.Add(line);
  if (!round_.output.dir.empty()) {
    std::string plain = (round_.output.timestamp ? ts + " " : std::string()) + std::string(line) + "\n";
    r.files.Write(is_stderr, plain);
  }
}

void NodeRunner::NoteAbort(int rank, int status, const std::string& msg) {
  for (auto& r : ranks_) {
    if (r->rank == rank) {
      r->abort_msg = "MPI_Abort(" + std::to_string(status) + ")" + (msg.empty() ? "" : ": " + msg);
    }
  }
}

bool NodeRunner::OnChildStatus(pid_t pid, int st) {
  Rank* r = nullptr;
  for (auto& x : ranks_)
    if (x->pid == pid && !x->reaped) r = x.get();
  if (r == nullptr) return false;
  if (WIFSTOPPED(st)) {
    r->stopped = true;
    r->stopped_since = Clock::now();
    return true;
  }
  if (WIFCONTINUED(st)) {
    r->stopped = false;
    return true;
  }
  r->reaped = true;
  r->status = st;
  r->child.Drain();
  OGAI_LOG(Debug) << "rank " << r->rank << " pid " << pid << " ended: " << DescribeWaitStatus(st);
  // Its comm segments, if it was killed before unlinking them (core/shm_segment.h).
  if (const int n = RemoveShmSegmentsOf(pid); n > 0) {
    OGAI_LOG(Debug) << "rank " << r->rank << ": removed " << n << " shared-memory segment(s) it left";
  }
  if (state_ == State::kStopping || state_ == State::kFinishing) {
    // The round may be over now: look at once rather than at the next tick (a restart
    // waits for this).
    loop_.Post([this] { TeardownTick(); });
    return true;
  }
  if (state_ != State::kRunning) return true;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    MaybeFinished();
    return true;
  }
  RankFailure f = BaseFailure(*r);
  if (WIFSIGNALED(st)) {
    f.kind = RankFailure::Kind::kSignaled;
    f.signal = WTERMSIG(st);
  } else {
    f.kind = RankFailure::Kind::kExited;
    f.exit_code = WEXITSTATUS(st);
  }
  ReportFailure(f);
  return true;
}

void NodeRunner::ReportFailure(RankFailure f) {
  if (failure_reported_) return;
  failure_reported_ = true;
  if (cb_.on_failure) cb_.on_failure(f);
}

void NodeRunner::MaybeFinished() {
  for (auto& r : ranks_) {
    if (!r->reaped) return;
    if (r->pid < 0) return;  // a spawn failure is being reported
  }
  state_ = State::kFinishing;
  BeginTeardown(SIGTERM, round_.grace);
}

void NodeRunner::CheckHeartbeats() {
  if (state_ != State::kRunning || !heartbeats_) return;
  auto now = Clock::now();
  double limit = round_.heartbeat_timeout;
  // When one rank hangs, the others soon wait for it in a collective and fall silent too:
  // blame the rank that is stopped (SIGSTOP), else the one silent for longest. A stopped
  // rank is blamed however recently its stop was seen: its peer's last heartbeat may predate
  // the stop, so the peer can pass the limit first (seen under load).
  Rank* worst = nullptr;
  double worst_for = 0;
  bool worst_stopped = false, over = false;
  for (auto& rp : ranks_) {
    Rank& r = *rp;
    if (r.reaped) continue;
    HeartbeatSample s = heartbeats_->Read(r.local_rank);
    if (s.count != r.hb_count) {
      r.hb_count = s.count;
      r.hb_step = s.step;
      r.hb_armed = s.armed;
      r.last_progress = now;
    }
    double idle = std::chrono::duration<double>(now - r.last_progress).count();
    double stopped_for = r.stopped ? std::chrono::duration<double>(now - r.stopped_since).count() : 0.0;
    const bool silent = r.hb_armed && idle > limit;
    over |= stopped_for > limit || silent;
    const bool stopped = r.stopped;
    if (!stopped && !silent) continue;
    const double for_s = stopped ? std::max(stopped_for, idle) : idle;
    if (worst == nullptr || (stopped && !worst_stopped) || (stopped == worst_stopped && for_s > worst_for)) {
      worst = &r;
      worst_for = for_s;
      worst_stopped = stopped;
    }
  }
  if (!over || worst == nullptr) return;
  Rank& r = *worst;
  RankFailure f = BaseFailure(r);
  f.kind = RankFailure::Kind::kHung;
  f.has_step = r.hb_armed;
  f.last_step = r.hb_step;
  f.idle_seconds = worst_for;
  char lim[32];
  std::snprintf(lim, sizeof lim, "%g", limit);
  f.detail = std::string(worst_stopped ? "it is stopped (SIGSTOP, or a debugger)"
                                       : "its progress reports (ProgressReporter::Report) stopped") +
             "; --heartbeat-timeout is " + lim + " s";
  ReportFailure(f);
}

void NodeRunner::Stop(int sig, double grace) {
  stop_requested_ = true;
  switch (state_) {
    case State::kIdle:
      loop_.Post([this] {
        if (state_ == State::kIdle && cb_.on_stopped) cb_.on_stopped();
      });
      return;
    case State::kStopping:
    case State::kFinishing:
      if (sig == SIGKILL && !killed_) {
        kill_time_ = Clock::now();
        if (kill_timer_) loop_.Cancel(kill_timer_);
        kill_timer_ = 0;
        killed_ = true;
        TeardownTick();
      }
      return;
    case State::kRunning:
      state_ = State::kStopping;
      BeginTeardown(sig, grace);
      return;
  }
}

void NodeRunner::Signal(int sig) {
  for (auto& r : ranks_)
    if (!r->reaped) ::kill(-r->pid, sig);
}

std::set<pid_t> NodeRunner::Leftovers() const {
  std::set<pid_t> out;
  for (pid_t p : ProcessesWithEnv(round_.Marker())) out.insert(p);
  for (pid_t p : ProcessesInSessions(sessions_)) out.insert(p);
  pid_t guard = guard_ != nullptr ? guard_->pid() : -1;
  for (pid_t p : ChildrenOf(::getpid())) {
    if (p == guard || (is_helper_ && is_helper_(p))) continue;
    out.insert(p);
  }
  return out;
}

void NodeRunner::BeginTeardown(int sig, double grace) {
  if (hb_timer_) loop_.Cancel(hb_timer_);
  hb_timer_ = 0;
  stop_signal_ = sig;
  killed_ = sig == SIGKILL;
  for (auto& r : ranks_) {
    if (r->reaped) continue;
    if (::kill(-r->pid, sig) != 0) ::kill(r->pid, sig);
    if (sig != SIGKILL) ::kill(-r->pid, SIGCONT);
  }
  kill_time_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(grace));
  if (!killed_) {
    kill_timer_ = loop_.After(grace, [this] {
      kill_timer_ = 0;
      killed_ = true;
      OGAI_LOG(Info) << "grace period over on " << round_.host << ": sending SIGKILL";
      TeardownTick();
    });
  }
  tick_timer_ = loop_.Every(0.05, [this] { TeardownTick(); });
  TeardownTick();
}

void NodeRunner::TeardownTick() {
  if (state_ != State::kStopping && state_ != State::kFinishing) return;
  bool all_reaped = true;
  for (auto& r : ranks_) {
    if (r->reaped) continue;
    all_reaped = false;
    if (killed_) {
      ::kill(-r->pid, SIGKILL);
      ::kill(r->pid, SIGKILL);
    }
  }
  auto overdue = Clock::now() - kill_time_ > std::chrono::seconds(10);
  if (!all_reaped && !(killed_ && overdue)) return;
  std::set<pid_t> left = Leftovers();
  for (pid_t p : left) {
    if (killed_) {
      ::kill(p, SIGKILL);
    } else if (!signalled_.count(p)) {
      ::kill(p, stop_signal_);
      ::kill(p, SIGCONT);
      signalled_.insert(p);
    }
  }
  if (left.empty() || (killed_ && overdue)) {
    if (!left.empty()) {
      OGAI_LOG(Warn) << left.size() << " process(es) of the job on " << round_.host
                     << " did not die 10 s after SIGKILL (uninterruptible sleep?); giving up";
    }
    Complete();
  }
}

void NodeRunner::Complete() {
  for (auto* id : {&hb_timer_, &tick_timer_, &kill_timer_}) {
    if (*id) loop_.Cancel(*id);
    *id = 0;
  }
  for (auto& r : ranks_) r->child.Close();
  if (pmix_registered_ && pmix_ != nullptr) {
    pmix_->DeregisterJob(round_.nspace());
    pmix_registered_ = false;
  }
  if (heartbeats_) {
    std::string path = heartbeats_->path();
    heartbeats_.reset();
    ::unlink(path.c_str());
  }
  bool stopped = stop_requested_ || state_ == State::kStopping;
  state_ = State::kIdle;
  if (stopped) {
    if (cb_.on_stopped) cb_.on_stopped();
  } else {
    if (cb_.on_success) cb_.on_success();
  }
}

}  // namespace ogai::launch
