// What reaches the launcher while a job runs: signals, events and liveness of the remote
// agents, and what it says to them (commands through the store, the OGAI_RUN_TRACE file).
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "core/clock.h"
#include "core/file_io.h"
#include "core/log.h"
#include "launcher/console.h"
#include "launcher/launcher_impl.h"
#include "launcher/process.h"

namespace ogai::launch {

void Launcher::OnSignal() {
  signalfd_siginfo si;
  while (::read(node_->signal_fd(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGCHLD) {
      ReapChildren([this](pid_t pid, int st) {
        if (local_ && local_->OnChildStatus(pid, st)) return;
        for (size_t i = 0; i < helpers_.size(); ++i) {
          if (helpers_[i]->child.pid() == pid && !helpers_[i]->exited && (WIFEXITED(st) || WIFSIGNALED(st))) {
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
      console::Notice("got " + SignalName(sig) +
                      ", forwarding it to every rank (send it again to kill them at "
                      "once)");
      if (phase_ == Phase::kJoining || phase_ == Phase::kRejoining) {
        Finish(128 + sig);
      } else if (phase_ == Phase::kRunning) {
        phase_ = Phase::kStopping;
        StopAll(sig, l_.grace);
      } else {
        StopAll(sig, l_.grace);
      }
    } else {
      console::Notice("got " + SignalName(sig) + " again, killing every rank");
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
  console::Error("the job's store failed: " + st.ToString());
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
      OGAI_LOG(Info) << "agent " << e.agent << " joined from " << e.host << " (pid " << e.pid << ")";
      a.joined = true;
      a.cache = e.cache;
      a.hb_changed = Clock::now();
      a.hb_value.reset();
      if (a.helper >= 0) {
        Helper& h = *helpers_[static_cast<size_t>(a.helper)];
        bool all = true;
        for (int id : h.agents) all &= agents_[static_cast<size_t>(id)].joined;
        if (all && !h.joined) {
          h.joined = true;
          for (const std::string& l : h.held) console::Relay(l, true);
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
        console::Error("the agent on " + a.host + " failed: " + e.message);
        Finish(kExitLauncher);
        return;
      }
      OnNodeFailure(e.agent, f);
      return;
    }
    default: break;
  }
  if (e.round != round_) return;  // a late event of an earlier round
  switch (e.type) {
    case Event::Type::kFailure: OnNodeFailure(e.agent, e.failure); break;
    case Event::Type::kSuccess: OnNodeSuccess(e.agent); break;
    case Event::Type::kStopped: OnNodeStopped(e.agent); break;
    default: break;
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

void Launcher::Trace(const std::string& event, const std::string& detail) {
  if (trace_fd_ < 0) return;
  char head[160];
  std::snprintf(head, sizeof head, "{\"unix_ms\": %.3f, \"event\": \"%s\", \"round\": %d", UnixMs(), event.c_str(),
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

}  // namespace ogai::launch
