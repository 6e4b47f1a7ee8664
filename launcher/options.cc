#include "launcher/options.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "core/edit_distance.h"

namespace ogai::launch {
namespace {

struct Flag {
  std::vector<std::string> names;  // without leading dashes
  bool takes_value;
  std::function<Status(RunOptions&, const std::string& value)> apply;
};

Result<int> ParseIntValue(const std::string& flag, const std::string& v, int lo, int hi) {
  errno = 0;
  char* end = nullptr;
  long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || x < lo || x > hi) {
    return InvalidArgument("--" + flag + " expects a whole number from " + std::to_string(lo) + " to " +
                           std::to_string(hi) + ", got '" + v + "'");
  }
  return static_cast<int>(x);
}

Result<double> ParseSeconds(const std::string& flag, const std::string& v, double lo) {
  errno = 0;
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0 || !std::isfinite(x) || x < lo) {
    return InvalidArgument("--" + flag + " expects seconds (a number >= " + std::to_string(lo) + "), got '" + v + "'");
  }
  return x;
}

Status OneOf(const std::string& flag, const std::string& v, std::initializer_list<const char*> ok) {
  std::string list;
  for (const char* o : ok) {
    if (v == o) return Status::Ok();
    list += list.empty() ? "" : ", ";
    list += o;
  }
  return InvalidArgument("--" + flag + " expects one of " + list + ", got '" + v + "'");
}

const std::vector<Flag>& Flags() {
  static const std::vector<Flag> flags = [] {
    std::vector<Flag> f;
    auto set_int = [](const char* field, int LaunchConfig::*member, int lo, int hi) {
      return [=](RunOptions& o, const std::string& v) -> Status {
        OGAI_ASSIGN_OR_RETURN(int x, ParseIntValue(field, v, lo, hi));
        o.launch.*member = x;
        o.given.insert(field);
        return Status::Ok();
      };
    };
    auto set_secs = [](const char* flag, const char* field, double LaunchConfig::*member, double lo) {
      return [=](RunOptions& o, const std::string& v) -> Status {
        OGAI_ASSIGN_OR_RETURN(double x, ParseSeconds(flag, v, lo));
        o.launch.*member = x;
        o.given.insert(field);
        return Status::Ok();
      };
    };
    auto set_bool = [](const char* field, bool LaunchConfig::*member) {
      return [=](RunOptions& o, const std::string&) -> Status {
        o.launch.*member = true;
        o.given.insert(field);
        return Status::Ok();
      };
    };
    f.push_back({{"n", "np", "c"}, true, set_int("np", &LaunchConfig::np, 1, 1 << 20)});
    f.push_back({{"H", "host", "hosts"}, true, [](RunOptions& o, const std::string& v) -> Status {
                   if (v.empty()) return InvalidArgument("--host expects h1:slots,h2:slots");
                   o.launch.hosts = o.launch.hosts.empty() ? v : o.launch.hosts + "," + v;
                   o.given.insert("hosts");
                   return Status::Ok();
                 }});
    f.push_back({{"hostfile", "machinefile"}, true, [](RunOptions& o, const std::string& v) -> Status {
                   if (v.empty()) return InvalidArgument("--hostfile expects a file name");
                   o.launch.hostfile = v;
                   o.given.insert("hostfile");
                   return Status::Ok();
                 }});
    f.push_back({{"x"}, true, [](RunOptions& o, const std::string& v) -> Status {
                   std::string name = v.substr(0, v.find('='));
                   bool ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
                   for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
                   if (!ok) {
                     return InvalidArgument(
                         "-x expects VAR or VAR=value with VAR a variable "
                         "name (letters, digits, _), got '" +
                         v + "'");
                   }
                   o.launch.env.push_back(v);
                   o.given.insert("env");
                   return Status::Ok();
                 }});
    f.push_back({{"map-by", "map_by"}, true, [](RunOptions& o, const std::string& v) -> Status {
                   // mpirun allows modifiers after a colon (core:PE=2); ogai honours the policy.
                   std::string policy = v.substr(0, v.find(':'));
                   OGAI_RETURN_IF_ERROR(OneOf("map-by", policy, {"core", "slot", "node"}));
                   o.launch.map_by = policy;
                   o.given.insert("map_by");
                   return Status::Ok();
                 }});
    f.push_back({{"bind-to", "bind_to"}, true, [](RunOptions& o, const std::string& v) -> Status {
                   OGAI_RETURN_IF_ERROR(OneOf("bind-to", v, {"core", "none"}));
                   o.launch.bind_to = v;
                   o.given.insert("bind_to");
                   return Status::Ok();
                 }});
    f.push_back({{"tag-output"}, false, set_bool("tag_output", &LaunchConfig::tag_output)});
    f.push_back({{"timestamp-output"}, false, set_bool("timestamp_output", &LaunchConfig::timestamp_output)});
    f.push_back({{"output-filename"}, true, [](RunOptions& o, const std::string& v) -> Status {
                   if (v.empty()) return InvalidArgument("--output-filename expects a folder");
                   o.launch.output_filename = v;
                   o.given.insert("output_filename");
                   return Status::Ok();
                 }});
    f.push_back({{"oversubscribe"}, false, set_bool("oversubscribe", &LaunchConfig::oversubscribe)});
    f.push_back({{"nnodes"}, true, [](RunOptions& o, const std::string& v) -> Status {
                   int lo = 0, hi = 0;
                   OGAI_RETURN_IF_ERROR(ParseNnodes(v, &lo, &hi));
                   o.launch.nnodes = v;
                   o.given.insert("nnodes");
                   return Status::Ok();
                 }});
    f.push_back({{"nproc-per-node", "nproc_per_node", "npernode", "N"},
                 true,
                 set_int("nproc_per_node", &LaunchConfig::nproc_per_node, 1, 1 << 16)});
    f.push_back(
        {{"max-restarts", "max_restarts"}, true, set_int("max_restarts", &LaunchConfig::max_restarts, 0, 1000000)});
    f.push_back({{"master-addr", "master_addr"}, true, [](RunOptions& o, const std::string& v) -> Status {
                   if (v.empty()) return InvalidArgument("--master-addr expects a host or address");
                   o.launch.master_addr = v;
                   o.given.insert("master_addr");
                   return Status::Ok();
                 }});
    f.push_back({{"master-port", "master_port"}, true, set_int("master_port", &LaunchConfig::master_port, 1, 65535)});
    f.push_back({{"grace"}, true, set_secs("grace", "grace", &LaunchConfig::grace, 0.0)});
    f.push_back({{"heartbeat-timeout", "heartbeat_timeout"},
                 true,
                 set_secs("heartbeat-timeout", "heartbeat_timeout", &LaunchConfig::heartbeat_timeout, 0.1)});
    f.push_back({{"rejoin-timeout", "rejoin_timeout"},
                 true,
                 set_secs("rejoin-timeout", "rejoin_timeout", &LaunchConfig::rejoin_timeout, 0.0)});
    f.push_back({{"mpi"}, true, [](RunOptions& o, const std::string& v) -> Status {
                   OGAI_RETURN_IF_ERROR(OneOf("mpi", v, {"pmix", "none"}));
                   o.mpi = v;
                   return Status::Ok();
                 }});
    f.push_back({{"agent-launcher"}, true, [](RunOptions& o, const std::string& v) -> Status {
                   OGAI_RETURN_IF_ERROR(OneOf("agent-launcher", v, {"auto", "ssh", "slurm"}));
                   o.agent_launcher = v;
                   return Status::Ok();
                 }});
    f.push_back({{"v", "verbose"}, false, [](RunOptions& o, const std::string&) -> Status {
                   ++o.verbosity;
                   return Status::Ok();
                 }});
    f.push_back({{"vv"}, false, [](RunOptions& o, const std::string&) -> Status {
                   o.verbosity += 2;
                   return Status::Ok();
                 }});
    f.push_back({{"h", "help"}, false, [](RunOptions& o, const std::string&) -> Status {
                   o.mode = RunMode::kHelp;
                   return Status::Ok();
                 }});
    f.push_back({{"help-config"}, false, [](RunOptions& o, const std::string&) -> Status {
                   o.mode = RunMode::kHelpConfig;
                   return Status::Ok();
                 }});
    f.push_back({{"help-env"}, false, [](RunOptions& o, const std::string&) -> Status {
                   o.mode = RunMode::kHelpEnv;
                   return Status::Ok();
                 }});
    f.push_back({{"version", "V"}, false, [](RunOptions& o, const std::string&) -> Status {
                   o.mode = RunMode::kVersion;
                   return Status::Ok();
                 }});
    f.push_back({{"dry-run"}, false, [](RunOptions& o, const std::string&) -> Status {
                   o.dry_run = true;
                   return Status::Ok();
                 }});
    f.push_back({{"agent"}, false, [](RunOptions& o, const std::string&) -> Status {
                   o.mode = RunMode::kAgent;
                   return Status::Ok();
                 }});
    return f;
  }();
  return flags;
}

const Flag* FindFlag(const std::string& name) {
  for (const Flag& f : Flags())
    for (const std::string& n : f.names)
      if (n == name) return &f;
  return nullptr;
}

std::string Suggest(const std::string& name) {
  std::string best;
  size_t best_d = 4;
  for (const Flag& f : Flags()) {
    for (const std::string& n : f.names) {
      if (n.size() < 3) continue;
      size_t d = EditDistance(name, n);
      if (d < best_d) {
        best_d = d;
        best = n;
      }
    }
  }
  return best.empty() ? "" : " (did you mean --" + best + "?)";
}

bool IsYamlPath(const std::string& s) {
  auto ends = [&](const char* suf) {
    std::string x(suf);
    return s.size() > x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  return ends(".yaml") || ends(".yml");
}

}  // namespace

Status ParseNnodes(const std::string& s, int* min_nodes, int* max_nodes) {
  *min_nodes = *max_nodes = 0;
  if (s.empty()) return Status::Ok();
  size_t colon = s.find(':');
  auto num = [&](const std::string& part, int* out) -> Status {
    auto r = ParseIntValue("nnodes", part, 1, 1 << 20);
    if (!r.ok()) {
      return InvalidArgument("--nnodes expects N or MIN:MAX (e.g. 2 or 1:4), got '" + s + "'");
    }
    *out = *r;
    return Status::Ok();
  };
  if (colon == std::string::npos) {
    OGAI_RETURN_IF_ERROR(num(s, min_nodes));
    *max_nodes = *min_nodes;
    return Status::Ok();
  }
  OGAI_RETURN_IF_ERROR(num(s.substr(0, colon), min_nodes));
  OGAI_RETURN_IF_ERROR(num(s.substr(colon + 1), max_nodes));
  if (*min_nodes > *max_nodes) {
    return InvalidArgument("--nnodes " + s + ": MIN is larger than MAX");
  }
  return Status::Ok();
}

Result<RunOptions> ParseCommandLine(const std::vector<std::string>& args) {
  RunOptions o;
  size_t i = 0;
  auto positional_from = [&](size_t k, bool after_dashes) -> Status {
    if (k >= args.size()) {
      if (after_dashes) return InvalidArgument("'--' must be followed by the program to run");
      return Status::Ok();
    }
    if (!after_dashes && IsYamlPath(args[k])) {
      o.train_yaml = args[k];
      for (size_t j = k + 1; j < args.size(); ++j) {
        if (!IsConfigOverride(args[j])) {
          return InvalidArgument("after the config file '" + o.train_yaml +
                                 "' only section.key=value overrides may follow, got '" + args[j] +
                                 "' (flags go before the config file)");
        }
        o.overrides.push_back(args[j]);
      }
      return Status::Ok();
    }
    o.program.assign(args.begin() + static_cast<long>(k), args.end());
    return Status::Ok();
  };
  while (i < args.size()) {
    const std::string& a = args[i];
    if (a == "--") {
      OGAI_RETURN_IF_ERROR(positional_from(i + 1, true));
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      OGAI_RETURN_IF_ERROR(positional_from(i, false));
      break;
    }
    std::string body = a.substr(a[1] == '-' ? 2 : 1);
    std::string value;
    bool inline_value = false;
    size_t eq = body.find('=');
    if (eq != std::string::npos) {
      value = body.substr(eq + 1);
      body = body.substr(0, eq);
      inline_value = true;
    }
    const Flag* f = FindFlag(body);
    if (f == nullptr) {
      return InvalidArgument("unknown flag '" + a + "'" + Suggest(body) + "; `ogai-run --help` lists the flags");
    }
    if (f->takes_value && !inline_value) {
      if (i + 1 >= args.size()) {
        return InvalidArgument("flag '" + a + "' needs a value; `ogai-run --help` explains it");
      }
      value = args[++i];
    } else if (!f->takes_value && inline_value) {
      return InvalidArgument("flag '--" + body + "' takes no value, got '" + a + "'");
    }
    OGAI_RETURN_IF_ERROR(f->apply(o, value));
    ++i;
  }
  if (o.mode == RunMode::kRun && o.program.empty() && o.train_yaml.empty()) {
    return InvalidArgument(
        "nothing to run: give a train.yaml or `-- PROGRAM [ARGS]` "
        "(see ogai-run --help)");
  }
  return o;
}

void MergeLaunchConfig(RunOptions& o, const LaunchConfig& y) {
  LaunchConfig& l = o.launch;
  auto take = [&](const char* field, auto member) {
    if (!o.given.count(field)) l.*member = y.*member;
  };
  take("np", &LaunchConfig::np);
  take("nproc_per_node", &LaunchConfig::nproc_per_node);
  take("nnodes", &LaunchConfig::nnodes);
  take("hosts", &LaunchConfig::hosts);
  take("hostfile", &LaunchConfig::hostfile);
  take("max_restarts", &LaunchConfig::max_restarts);
  take("master_addr", &LaunchConfig::master_addr);
  take("master_port", &LaunchConfig::master_port);
  take("grace", &LaunchConfig::grace);
  take("heartbeat_timeout", &LaunchConfig::heartbeat_timeout);
  take("rejoin_timeout", &LaunchConfig::rejoin_timeout);
  take("tag_output", &LaunchConfig::tag_output);
  take("timestamp_output", &LaunchConfig::timestamp_output);
  take("output_filename", &LaunchConfig::output_filename);
  take("oversubscribe", &LaunchConfig::oversubscribe);
  take("map_by", &LaunchConfig::map_by);
  take("bind_to", &LaunchConfig::bind_to);
  // -x: the file's variables first, so the command line's win when both set one.
  std::vector<std::string> env = y.env;
  env.insert(env.end(), l.env.begin(), l.env.end());
  l.env = env;
}

std::string UsageText() {
  return R"(usage: ogai-run [flags] train.yaml [section.key=value ...]
       ogai-run [flags] -- PROGRAM [ARGS ...]

Starts one rank per process slot, on this machine, on hosts over ssh, or inside a Slurm
allocation (SLURM_JOB_ID set: one agent per node through srun). Every rank gets RANK,
LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, NODE_RANK, MASTER_ADDR, MASTER_PORT,
OGAI_RESTART_COUNT and the store token; MPI programs see one MPI job (PMIx is served).

Placement (mpirun's meaning):
  -n, -np N                 number of ranks (default: all slots; dp*tp*pp for train.yaml)
  -H, --host h1:4,h2:4      hosts and their slots (no :N means 1 slot)
  --hostfile FILE           Open MPI hostfile: "host slots=N" per line, # comments
  --map-by slot|core|node   fill each host's slots in turn (slot, core) or round-robin (node)
  --bind-to core|none       pin each rank to one core of its node (default none)
  --oversubscribe           allow more ranks than slots
  --nnodes N|MIN:MAX        use N hosts (MIN:MAX: keep going after losing nodes, down to MIN)
  --nproc-per-node N        ranks per node
Environment:
  -x VAR[=value]            export VAR (its value here, or the one given) to every rank
Output:
  --tag-output              prefix each line with [rank]
  --timestamp-output        prefix each line with the time it was read
  --output-filename DIR     also write DIR/rank.N/stdout and DIR/rank.N/stderr
Failures:
  --grace SECONDS           SIGTERM first, SIGKILL after this long (default 10)
  --heartbeat-timeout SECS  a rank whose progress reports stop this long is hung (default 60)
  --max-restarts K          restart the whole group up to K times after a failure (default 0)
  --rejoin-timeout SECS     how long a restart waits for a lost node's agent (default 30)
Rendezvous:
  --master-addr ADDR        address of the job's store (default: this host, as seen by the nodes)
  --master-port PORT        its port (default: a free one)
Other:
  --mpi pmix|none           serve PMIx so MPI programs form one job (default pmix)
  --agent-launcher auto|ssh|slurm  how agents start on other nodes (default auto)
  -v, -vv                   say more (launch plan, agents, each rank's start and end)
  --dry-run                 print a training job's plan (ranks and hosts, layout, batch, parameters,
                            memory per rank, what it would resume from); start nothing
  --help-config             list every train.yaml key
  --help-env                list every OGAI_* environment knob
  -h, --help                this text

Exit code: 0 when every rank exits 0; otherwise the first failing rank's exit code (128+N when
it died of signal N), 124 when a rank stopped making progress, 125 when an agent or node was
lost or the launcher failed, 2 for bad input. See docs/launcher.md.
)";
}

}  // namespace ogai::launch
