#include "sched/sched_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <sstream>
#include <thread>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "core/file_io.h"
#include "launcher/hostfile.h"
#include "sched/http_service.h"
#include "sched/tls_files.h"

namespace ogai::sched {

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// The token in `path`, made (0600) when the file does not exist.
Result<std::string> TokenFile(const std::string& path) {
  if (::access(path.c_str(), F_OK) == 0) {
    OGAI_ASSIGN_OR_RETURN(std::string t, ReadFile(path));
    return Trim(t);
  }
  OGAI_ASSIGN_OR_RETURN(std::string t, NewToken());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create " + path, errno);
  const std::string line = t + "\n";
  Status st = WriteAllFd(fd, line.data(), line.size(), path);
  ::close(fd);
  OGAI_RETURN_IF_ERROR(st);
  return t;
}

}  // namespace

Result<std::string> NewToken() {
  unsigned char b[16];
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::read(fd, b, sizeof(b)) != static_cast<ssize_t>(sizeof(b))) {
    if (fd >= 0) ::close(fd);
    return IoError("cannot read /dev/urandom for a token");
  }
  ::close(fd);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

Status ParseDaemonFlags(int argc, char** argv, DaemonFlags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") return Aborted("help");
    if (a == "-v") {
      f->verbose = true;
      continue;
    }
    if (a == "--http-allow-remote") {
      f->http_allow_remote = true;
      continue;
    }
    std::string v;
    const size_t eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (i + 1 < argc) {
      v = argv[++i];
    } else {
      return InvalidArgument(a + " needs a value");
    }
    // Flags whose value is kept as text.
    static const std::pair<const char*, std::string DaemonFlags::*> kText[] = {
        {"--state", &DaemonFlags::state},
        {"--pool", &DaemonFlags::pool},
        {"--tenants", &DaemonFlags::tenants},
        {"--listen", &DaemonFlags::listen},
        {"--listen-cert", &DaemonFlags::listen_cert},
        {"--listen-key", &DaemonFlags::listen_key},
        {"--backend", &DaemonFlags::backend},
        {"--ogai-run", &DaemonFlags::ogai_run},
        {"--http", &DaemonFlags::http},
        {"--http-cert", &DaemonFlags::http_cert},
        {"--http-key", &DaemonFlags::http_key},
        {"--registry", &DaemonFlags::registry},
    };
    const auto text = std::find_if(std::begin(kText), std::end(kText), [&](const auto& t) { return a == t.first; });
    if (text != std::end(kText))
      f->*(text->second) = v;
    else if (a == "--grace")
      f->grace_s = std::atof(v.c_str());
    else if (a == "--half-life")
      f->half_life_s = std::atof(v.c_str());
    else if (a == "--tick-ms")
      f->tick_ms = std::atoi(v.c_str());
    else
      return InvalidArgument("unknown flag " + a);
  }
  if (f->state.empty()) return InvalidArgument("--state DIR is required (the folder the scheduler keeps its state in)");
  if (f->backend != "local" && f->backend != "slurm") {
    return InvalidArgument("--backend " + f->backend + ": expected local or slurm");
  }
  if (f->tick_ms <= 0 || f->grace_s < 0 || f->half_life_s <= 0) {
    return InvalidArgument("--tick-ms and --half-life must be positive and --grace not negative");
  }
  if (f->http_allow_remote && f->http.empty()) {
    return InvalidArgument("--http-allow-remote without --http HOST:PORT; add --http, or drop it");
  }
  if (!f->registry.empty() && f->http.empty()) {
    return InvalidArgument("--registry is read by the dashboard only; add --http HOST:PORT, or drop it");
  }
  const bool tls = !f->http_cert.empty() || !f->http_key.empty();
  if (tls && f->http.empty()) {
    return InvalidArgument("--http-cert and --http-key are the dashboard's; add --http HOST:PORT, or drop them");
  }
  if (!f->http.empty()) {
    std::string host;
    int port = 0;
    OGAI_RETURN_IF_ERROR(ParseHttpAddress(f->http, f->http_allow_remote || tls, &host, &port));
  }
  if (tls) OGAI_RETURN_IF_ERROR(CheckTlsPair("--http-cert", f->http_cert, "--http-key", f->http_key));
  if (!f->listen_cert.empty() || !f->listen_key.empty()) {
    if (f->listen.empty() || f->listen.rfind("unix:", 0) == 0) {
      return InvalidArgument(
          "--listen-cert and --listen-key are for --listen HOST:PORT (a unix socket stays on this machine); add "
          "--listen HOST:PORT, or drop them");
    }
    OGAI_RETURN_IF_ERROR(CheckTlsPair("--listen-cert", f->listen_cert, "--listen-key", f->listen_key));
  }
  if (!f->registry.empty() && ::access((f->registry + "/registry.db").c_str(), R_OK) != 0) {
    return InvalidArgument("--registry " + f->registry +
                           ": no registry there (no registry.db); give the root `ogai-model` uses (--root)");
  }
  return Status::Ok();
}

Result<std::vector<TenantConfig>> ParseTenants(const std::string& yaml, const std::string& source) {
  std::vector<TenantConfig> out;
  try {
    YAML::Node root = YAML::Load(yaml);
    YAML::Node ts = root["tenants"];
    if (!ts || !ts.IsMap())
      return InvalidArgument(source + ": expected a map `tenants:` of name -> {quota, borrow, token}");
    for (auto it = ts.begin(); it != ts.end(); ++it) {
      TenantConfig t;
      t.name = it->first.as<std::string>();
      const YAML::Node& n = it->second;
      if (!n["quota"]) return InvalidArgument(source + ": tenant '" + t.name + "' has no quota (ranks)");
      t.quota = n["quota"].as<int>();
      t.borrow_limit = n["borrow"] ? n["borrow"].as<int>() : 0;
      if (n["token"]) t.token = n["token"].as<std::string>();
      if (n["account"]) t.slurm_account = n["account"].as<std::string>();
      if (n["token_file"]) {
        OGAI_ASSIGN_OR_RETURN(std::string tok, ReadFile(n["token_file"].as<std::string>()));
        t.token = Trim(tok);
      }
      if (t.quota < 0 || t.borrow_limit < 0)
        return InvalidArgument(source + ": tenant '" + t.name + "': negative quota");
      if (t.token.empty())
        return InvalidArgument(source + ": tenant '" + t.name + "' has no token (token or token_file)");
      out.push_back(t);
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ": " + e.what());
  }
  return out;
}

Result<SchedulerOptions> BuildSchedulerOptions(DaemonFlags& f, const char* argv0) {
  if (::mkdir(f.state.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("--state " + f.state, errno);
  char real[4096];
  if (::realpath(f.state.c_str(), real) != nullptr) f.state = real;
  if (f.listen.empty()) f.listen = "unix:" + f.state + "/sched.sock";
  SchedulerOptions o;
  o.state_dir = f.state;
  o.grace_s = f.grace_s;
  o.half_life_s = f.half_life_s;
  o.tick_ms = f.tick_ms;
  if (!f.pool.empty()) {
    OGAI_ASSIGN_OR_RETURN(auto hosts, launch::ReadHostfile(f.pool));
    for (const auto& h : hosts) o.pool.push_back(Node{h.name, h.slots, true, ""});
    if (o.pool.empty()) return InvalidArgument("--pool " + f.pool + " names no host");
  } else {
    const unsigned n = std::thread::hardware_concurrency();
    o.pool.push_back(Node{"localhost", static_cast<int>(n ? n : 1), true, ""});
  }
  if (!f.tenants.empty()) {
    OGAI_ASSIGN_OR_RETURN(std::string text, ReadFile(f.tenants));
    OGAI_ASSIGN_OR_RETURN(o.tenants, ParseTenants(text, f.tenants));
  } else {
    int slots = 0;
    for (const Node& n : o.pool) slots += n.slots;
    OGAI_ASSIGN_OR_RETURN(std::string tok, TokenFile(f.state + "/default.token"));
    o.tenants.push_back(TenantConfig{"default", slots, 0, tok, ""});
  }
  OGAI_ASSIGN_OR_RETURN(o.admin_token, TokenFile(f.state + "/admin.token"));
  o.runner.backend = f.backend;
  for (const TenantConfig& t : o.tenants)
    if (!t.slurm_account.empty()) o.runner.slurm_accounts[t.name] = t.slurm_account;
  // Under Slurm the nodes are Slurm's: ogai-run reaches them with srun, not ssh.
  if (f.backend == "slurm") o.probe_nodes = false;
  if (!f.ogai_run.empty()) {
    o.runner.ogai_run = f.ogai_run;
  } else {
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
    std::string dir = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string(argv0);
    dir = dir.substr(0, dir.rfind('/') == std::string::npos ? 0 : dir.rfind('/'));
    const std::string beside = dir + "/ogai-run";
    o.runner.ogai_run = ::access(beside.c_str(), X_OK) == 0 ? beside : "ogai-run";
  }
  return o;
}

}  // namespace ogai::sched
