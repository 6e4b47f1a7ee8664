#include "launcher/failure.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "launcher/process.h"

namespace ogai::launch {

int RankFailure::ExitCode() const {
  switch (kind) {
    case Kind::kExited: return exit_code != 0 ? exit_code : 1;
    case Kind::kSignaled: return 128 + signal;
    case Kind::kHung: return kExitHung;
    case Kind::kSpawnFailed: return exit_code != 0 ? exit_code : 127;
    case Kind::kAgentLost: return kExitLauncher;
    case Kind::kInterrupted: return 128 + signal;
  }
  return 1;
}

std::string RankFailure::Headline() const {
  std::string who = rank >= 0 ? "rank " + std::to_string(rank) : "node " + std::to_string(node_rank);
  std::string where;
  if (rank >= 0) {
    where = " (node " + std::to_string(node_rank) + (host.empty() ? "" : ", " + host) + ")";
  } else if (!host.empty()) {
    where = " (" + host + ")";
  }
  switch (kind) {
    case Kind::kExited: return who + where + " exited with code " + std::to_string(exit_code);
    case Kind::kSignaled:
      return who + where + " was killed by signal " + std::to_string(signal) + " (" + SignalName(signal) + ")";
    case Kind::kHung: {
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.1f", idle_seconds);
      return who + where + " made no progress for " + secs + " s" +
             (has_step ? " (last step " + std::to_string(last_step) + ")" : "");
    }
    case Kind::kSpawnFailed: return who + where + " could not be started";
    case Kind::kAgentLost: return "the agent of " + who + where + " was lost";
    case Kind::kInterrupted: return "stopped by " + SignalName(signal);
  }
  return who + where + " failed";
}

std::string RankFailure::Serialize() const {
  nlohmann::json j;
  j["kind"] = static_cast<int>(kind);
  j["node_rank"] = node_rank;
  j["host"] = host;
  j["rank"] = rank;
  j["local_rank"] = local_rank;
  j["pid"] = pid;
  j["exit_code"] = exit_code;
  j["signal"] = signal;
  j["idle_seconds"] = idle_seconds;
  j["has_step"] = has_step;
  j["last_step"] = last_step;
  j["detail"] = detail;
  j["stderr_tail"] = stderr_tail;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<RankFailure> RankFailure::Parse(const std::string& text) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    RankFailure f;
    int kind = j.at("kind").get<int>();
    if (kind < 0 || kind > static_cast<int>(Kind::kInterrupted)) {
      return Corruption("failure record has unknown kind " + std::to_string(kind));
    }
    f.kind = static_cast<Kind>(kind);
    f.node_rank = j.at("node_rank").get<int>();
    f.host = j.at("host").get<std::string>();
    f.rank = j.at("rank").get<int>();
    f.local_rank = j.at("local_rank").get<int>();
    f.pid = j.at("pid").get<int64_t>();
    f.exit_code = j.at("exit_code").get<int>();
    f.signal = j.at("signal").get<int>();
    f.idle_seconds = j.at("idle_seconds").get<double>();
    f.has_step = j.at("has_step").get<bool>();
    f.last_step = j.at("last_step").get<int64_t>();
    f.detail = j.at("detail").get<std::string>();
    f.stderr_tail = j.at("stderr_tail").get<std::vector<std::string>>();
    return f;
  } catch (const std::exception& e) {
    return Corruption(std::string("unreadable failure record: ") + e.what());
  }
}

std::string FormatRootCause(const RankFailure& f, const std::vector<FailureRecord>& history) {
  std::string s = "ogai-run: job failed: " + f.Headline() + "\n";
  auto row = [&](const char* k, const std::string& v) { s += "  " + std::string(k) + v + "\n"; };
  if (f.node_rank >= 0) {
    row("node:       ",
        f.host.empty() ? std::to_string(f.node_rank) : f.host + " (node " + std::to_string(f.node_rank) + ")");
  }
  if (f.rank >= 0) {
    row("rank:       ", std::to_string(f.rank) + " (local rank " + std::to_string(f.local_rank) + ")");
  }
  if (f.pid > 0) row("pid:        ", std::to_string(f.pid));
  switch (f.kind) {
    case RankFailure::Kind::kExited:
    case RankFailure::Kind::kSpawnFailed: row("exit code:  ", std::to_string(f.exit_code)); break;
    case RankFailure::Kind::kSignaled:
    case RankFailure::Kind::kInterrupted:
      row("signal:     ", std::to_string(f.signal) + " (" + SignalName(f.signal) + ")");
      break;
    case RankFailure::Kind::kHung: row("signal:     ", "none; stopped by ogai-run after --heartbeat-timeout"); break;
    case RankFailure::Kind::kAgentLost: break;
  }
  if (!f.detail.empty()) row("detail:     ", f.detail);
  if (!f.stderr_tail.empty()) {
    s += "  last lines of its stderr:\n";
    for (const std::string& l : f.stderr_tail) s += "    | " + l + "\n";
  } else if (f.rank >= 0) {
    s += "  (it wrote nothing to stderr)\n";
  }
  if (history.size() > 1) {
    s += "  failures, one per round (" + std::to_string(history.size() - 1) + " restart" +
         (history.size() == 2 ? "" : "s") + " used):\n";
    for (const FailureRecord& h : history) {
      char at[64];
      std::snprintf(at, sizeof at, "    round %d at %.1f s: ", h.round, h.seconds);
      std::string line = at + h.failure.Headline();
      if (h.failure.kind == RankFailure::Kind::kSignaled || h.failure.kind == RankFailure::Kind::kExited) {
        if (h.failure.pid > 0) line += ", pid " + std::to_string(h.failure.pid);
        if (h.failure.has_step) line += ", after step " + std::to_string(h.failure.last_step);
      }
      s += line + "\n";
    }
  }
  s += "ogai-run: exit code " + std::to_string(f.ExitCode()) + "\n";
  return s;
}

}  // namespace ogai::launch
