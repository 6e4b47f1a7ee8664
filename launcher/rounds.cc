// The round / restart / elastic state machine.
//
// Phases: kJoining (remote agents starting) -> kRunning (a round's ranks run everywhere) ->
// kStopping (the first failure, or the user's signal, stops every node) -> either a restart
// (kRunning again with OGAI_RESTART_COUNT + 1, after kRejoining when nodes were lost: lost
// agents are started again and get --rejoin-timeout; with --nnodes MIN:MAX the group goes on
// without those that do not come back, if at least MIN are left) or kDone with the exit code
// of the root cause. Every rank exiting 0 ends the job with 0.
#include <signal.h>

#include <algorithm>

#include "core/log.h"
#include "launcher/console.h"
#include "launcher/launcher_impl.h"

namespace ogai::launch {

double Launcher::Elapsed() const { return std::chrono::duration<double>(Clock::now() - start_time_).count(); }

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
  OGAI_LOG(Info) << "every agent joined after " << Elapsed() << " s";
  StartRound();
}

void Launcher::StartRound() {
  round_plan_ = RoundPlan();
  round_plan_.round = round_;
  for (const NodePlan& n : current_.nodes) {
    round_plan_.agents.push_back(n.agent);
    round_plan_.hosts.push_back(n.host);
    round_plan_.node_ranks.push_back(n.ranks);
    if (spec_.shard_cache) {
      round_plan_.caches.push_back(n.agent == local_agent_ ? node_->cache_addr()
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
    if (auto f = node_->StartRound(spec_, round_plan_, token_)) {
      agents_[static_cast<size_t>(local_agent_)].state = NodeState::kStopped;
      OnNodeFailure(local_agent_, *f);
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
    OGAI_LOG(Info) << "every rank exited 0 after " << Elapsed() << " s";
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
    Helper& h = *helpers_[static_cast<size_t>(a.helper)];
    if (!h.exited) ::kill(h.child.pid(), SIGKILL);
  }
  if (phase_ == Phase::kDone) return;
  if (phase_ == Phase::kJoining) {
    console::Error("cannot start the agent on host " + a.host + ": " + reason + "\n  (check that `ssh " + a.host +
                   " true` works without a password, and that " + self_exe_ + " exists there)");
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
    console::Notice(f.Headline() + "; every rank has ended");
    Finish(f.ExitCode());
    return;
  }
  RankFailure f = first_failure_.value_or(RankFailure());
  if (restarts_done_ < l_.max_restarts) {
    ++restarts_done_;
    ++round_;
    console::Notice(f.Headline() + "; restarting the group (restart " + std::to_string(restarts_done_) + " of " +
                    std::to_string(l_.max_restarts) + ")");
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
    if (!st.ok()) console::Warn(st.ToString());
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
        console::Notice(std::to_string(gone.size()) + " node(s) did not rejoin within --rejoin-timeout; " +
                        std::to_string(survivors) + " left, " + std::to_string(plan_.min_nodes) + " needed");
        console::Block(FormatRootCause(lf, history_));
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
      console::Notice("continuing without " + std::to_string(gone.size()) + " node(s): " + current_.Describe());
      StartRound();
    });
    CheckJoined();
    return;
  }
  console::Block(FormatRootCause(f, history_));
  Finish(f.ExitCode());
}

void Launcher::RecordFailure(const RankFailure& f) {
  history_.push_back({round_, Elapsed(), f});
  Trace("failure", f.Headline());
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
    for (auto& h : helpers_) all_gone &= h->exited;
    bool local_idle = !local_ || local_->idle();
    if (all_gone && local_idle) {
      loop_.Quit();
      return;
    }
    if (Clock::now() > deadline) {
      for (auto& h : helpers_) {
        if (!h->exited) {
          OGAI_LOG(Warn) << "agent helper " << h->child.pid() << " did not exit; killing it";
          ::kill(h->child.pid(), SIGKILL);
        }
      }
      if (local_ && !local_->idle()) local_->Stop(SIGKILL, 0);
      if (Clock::now() > deadline + std::chrono::seconds(5)) loop_.Quit();
    }
  });
}

}  // namespace ogai::launch
