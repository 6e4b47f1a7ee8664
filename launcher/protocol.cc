#include "launcher/protocol.h"

#include <sstream>

#include <nlohmann/json.hpp>

#include "core/digest.h"

namespace ogai::launch {

using nlohmann::json;

namespace {

template <typename Fn>
auto Guarded(const char* what, Fn fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Corruption(std::string("unreadable ") + what + " from the store: " + e.what());
  }
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json PlanToJson(const RoundPlan& p) {
  return json{
      {"round", p.round}, {"agents", p.agents}, {"hosts", p.hosts}, {"node_ranks", p.node_ranks}, {"caches", p.caches}};
}

RoundPlan PlanFromJson(const json& j) {
  RoundPlan p;
  p.round = j.at("round").get<int>();
  p.agents = j.at("agents").get<std::vector<int>>();
  p.hosts = j.at("hosts").get<std::vector<std::string>>();
  p.node_ranks = j.at("node_ranks").get<std::vector<std::vector<int>>>();
  if (j.contains("caches")) p.caches = j.at("caches").get<std::vector<std::string>>();
  return p;
}

}  // namespace

std::string JobSpec::Serialize() const {
  json j{{"run_id", run_id},
         {"argv", argv},
         {"env", env},
         {"cwd", cwd},
         {"tag", output.tag},
         {"timestamp", output.timestamp},
         {"output_dir", output.dir},
         {"heartbeat_timeout", heartbeat_timeout},
         {"grace", grace},
         {"bind_cores", bind_cores},
         {"oversubscribe", oversubscribe},
         {"pmix", pmix},
         {"max_restarts", max_restarts},
         {"master_addr", master_addr},
         {"master_port", master_port},
         {"verbosity", verbosity},
         {"agent_hosts", agent_hosts},
         {"elastic", elastic},
         {"shard_cache", shard_cache}};
  return Dump(j);
}

Result<JobSpec> JobSpec::Parse(const std::string& text) {
  return Guarded("job spec", [&]() -> Result<JobSpec> {
    json j = json::parse(text);
    JobSpec s;
    s.run_id = j.at("run_id").get<std::string>();
    s.argv = j.at("argv").get<std::vector<std::string>>();
    s.env = j.at("env").get<std::vector<std::string>>();
    s.cwd = j.at("cwd").get<std::string>();
    s.output.tag = j.at("tag").get<bool>();
    s.output.timestamp = j.at("timestamp").get<bool>();
    s.output.dir = j.at("output_dir").get<std::string>();
    s.heartbeat_timeout = j.at("heartbeat_timeout").get<double>();
    s.grace = j.at("grace").get<double>();
    s.bind_cores = j.at("bind_cores").get<bool>();
    s.oversubscribe = j.at("oversubscribe").get<bool>();
    s.pmix = j.at("pmix").get<bool>();
    s.max_restarts = j.at("max_restarts").get<int>();
    s.master_addr = j.at("master_addr").get<std::string>();
    s.master_port = j.at("master_port").get<int>();
    s.verbosity = j.at("verbosity").get<int>();
    s.agent_hosts = j.at("agent_hosts").get<std::vector<std::string>>();
    s.elastic = j.value("elastic", false);
    s.shard_cache = j.value("shard_cache", false);
    return s;
  });
}

int RoundPlan::NodeOf(int agent_id) const {
  for (size_t i = 0; i < agents.size(); ++i)
    if (agents[i] == agent_id) return static_cast<int>(i);
  return -1;
}

std::string Command::Serialize() const {
  json j;
  switch (type) {
    case Type::kRound: j = {{"type", "round"}, {"plan", PlanToJson(plan)}}; break;
    case Type::kStop: j = {{"type", "stop"}, {"round", round}, {"signal", signal}, {"grace", grace}}; break;
    case Type::kSignal: j = {{"type", "signal"}, {"round", round}, {"signal", signal}}; break;
    case Type::kExit: j = {{"type", "exit"}}; break;
  }
  return Dump(j);
}

Result<Command> Command::Parse(const std::string& text) {
  return Guarded("command", [&]() -> Result<Command> {
    json j = json::parse(text);
    Command c;
    std::string t = j.at("type").get<std::string>();
    if (t == "round") {
      c.type = Type::kRound;
      c.plan = PlanFromJson(j.at("plan"));
      c.round = c.plan.round;
    } else if (t == "stop") {
      c.type = Type::kStop;
      c.round = j.at("round").get<int>();
      c.signal = j.at("signal").get<int>();
      c.grace = j.at("grace").get<double>();
    } else if (t == "signal") {
      c.type = Type::kSignal;
      c.round = j.at("round").get<int>();
      c.signal = j.at("signal").get<int>();
    } else if (t == "exit") {
      c.type = Type::kExit;
    } else {
      return Corruption("unknown command type '" + t + "'");
    }
    return c;
  });
}

std::string Event::Serialize() const {
  json j{{"agent", agent}, {"round", round}};
  switch (type) {
    case Type::kJoin:
      j["type"] = "join";
      j["host"] = host;
      j["pid"] = pid;
      j["cache"] = cache;
      break;
    case Type::kFailure:
      j["type"] = "failure";
      j["failure"] = json::parse(failure.Serialize());
      break;
    case Type::kSuccess: j["type"] = "success"; break;
    case Type::kStopped: j["type"] = "stopped"; break;
    case Type::kError:
      j["type"] = "error";
      j["message"] = message;
      break;
  }
  return Dump(j);
}

Result<Event> Event::Parse(const std::string& text) {
  return Guarded("event", [&]() -> Result<Event> {
    json j = json::parse(text);
    Event e;
    e.agent = j.at("agent").get<int>();
    e.round = j.at("round").get<int>();
    std::string t = j.at("type").get<std::string>();
    if (t == "join") {
      e.type = Type::kJoin;
      e.host = j.at("host").get<std::string>();
      e.pid = j.at("pid").get<int64_t>();
      e.cache = j.value("cache", std::string());
    } else if (t == "failure") {
      e.type = Type::kFailure;
      OGAI_ASSIGN_OR_RETURN(e.failure, RankFailure::Parse(j.at("failure").dump()));
    } else if (t == "success") {
      e.type = Type::kSuccess;
    } else if (t == "stopped") {
      e.type = Type::kStopped;
    } else if (t == "error") {
      e.type = Type::kError;
      e.message = j.at("message").get<std::string>();
    } else {
      return Corruption("unknown event type '" + t + "'");
    }
    return e;
  });
}

std::string CommandKey(int64_t seq) { return "agent/cmd/" + std::to_string(seq); }
std::string EventKey(int64_t seq) { return "agent/evt/" + std::to_string(seq); }
std::string AgentHeartbeatKey(int agent) { return "agent/hb/" + std::to_string(agent); }

std::string Bootstrap::Serialize() const {
  return "ogai-agent-v2 " + run_id + " " + (agent_id < 0 ? std::string("-") : std::to_string(agent_id)) + " " +
         store_host + " " + std::to_string(store_port) + " " + token + " " + spec_sha256;
}

Result<Bootstrap> Bootstrap::Parse(const std::string& line) {
  std::istringstream in(line);
  std::string magic, agent;
  Bootstrap b;
  in >> magic >> b.run_id >> agent >> b.store_host >> b.store_port >> b.token >> b.spec_sha256;
  if (!in || magic != "ogai-agent-v2" || b.spec_sha256.size() != 64 ||
      b.spec_sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return InvalidArgument(
        "ogai-run --agent is started by ogai-run itself; its bootstrap line "
        "was not understood");
  }
  if (agent == "-") {
    b.agent_id = -1;
  } else {
    try {
      b.agent_id = std::stoi(agent);
    } catch (...) {
      return InvalidArgument("bad agent id '" + agent + "' in the agent bootstrap");
    }
  }
  return b;
}

Status VerifySpec(const Bootstrap& boot, const std::string& spec_text) {
  const std::string got = Sha256Hex(spec_text);
  if (got != boot.spec_sha256) {
    return PermissionDenied("the job spec in the store (sha256 " + got.substr(0, 16) +
                            "...) is not the one this agent was started with (" + boot.spec_sha256.substr(0, 16) +
                            "...): it was rewritten after the launcher wrote it; refusing to run it");
  }
  return Status::Ok();
}

}  // namespace ogai::launch
