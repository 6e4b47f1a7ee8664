#include "launcher/remote.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "core/knobs.h"

namespace ogai::launch {

std::vector<std::string> SshAgentCommand(const std::string& host, const std::string& agent_path, int verbosity) {
  std::vector<std::string> argv = {KnobText("OGAI_SSH").value_or("ssh")};
  if (const std::optional<std::string> opts = KnobText("OGAI_SSH_OPTS")) {
    std::istringstream in(*opts);
    std::string w;
    while (in >> w) argv.push_back(w);
  }
  for (const char* o : {"-o", "BatchMode=yes", "-T"}) argv.push_back(o);
  argv.push_back("--");  // whatever the host is, ssh reads it as the host, never an option
  argv.push_back(host);
  std::string cmd = "exec " + ShellQuote(agent_path) + " --agent";
  for (int i = 0; i < verbosity; ++i) cmd += " -v";
  argv.push_back(cmd);
  return argv;
}

std::vector<std::string> SrunAgentCommand(const std::vector<std::string>& hosts, const std::string& agent_path,
                                          int verbosity) {
  std::string n = std::to_string(hosts.size());
  std::string list;
  for (size_t i = 0; i < hosts.size(); ++i) list += (i ? "," : "") + hosts[i];
  std::vector<std::string> argv = {"srun",
                                   "--quiet",
                                   "--nodes=" + n,
                                   "--ntasks=" + n,
                                   "--ntasks-per-node=1",
                                   "--nodelist=" + list,
                                   "--cpu-bind=none",
                                   "--mpi=none",
                                   "--input=none",
                                   "--kill-on-bad-exit=0",
                                   "--job-name=ogai-agent",
                                   agent_path,
                                   "--agent"};
  for (int i = 0; i < verbosity; ++i) argv.push_back("-v");
  return argv;
}

Result<std::string> LocalAddressFacing(const std::string& remote_host) {
  addrinfo hints;
  std::memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  std::string host = remote_host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int rc = ::getaddrinfo(host.c_str(), "9", &hints, &res);
  if (rc != 0) {
    return Unavailable("cannot resolve host '" + remote_host + "': " + ::gai_strerror(rc) +
                       " (check the name, or give --master-addr)");
  }
  std::string out;
  Status st = Unavailable("no route to host '" + remote_host + "'");
  for (addrinfo* a = res; a != nullptr && out.empty(); a = a->ai_next) {
    int fd = ::socket(a->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    // connect() on a UDP socket sends nothing; it only picks the route and source address.
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      sockaddr_storage ss;
      socklen_t len = sizeof ss;
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
        char buf[INET6_ADDRSTRLEN] = {0};
        const void* src = ss.ss_family == AF_INET
                              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&ss)->sin_addr)
                              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr);
        if (::inet_ntop(ss.ss_family, src, buf, sizeof buf) != nullptr) out = buf;
      }
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (out.empty()) return st;
  return out;
}

std::string SelfExecutable() {
  char buf[PATH_MAX + 1] = {0};
  ssize_t n = ::readlink("/proc/self/exe", buf, PATH_MAX);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace ogai::launch
