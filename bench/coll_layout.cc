#include "bench/coll_layout.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include <net/if.h>

#include "core/clock.h"

namespace ogai::bench {
namespace {

std::string JsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) o += c;
  }
  return o;
}

// This machine's IPv4 addresses that are up and not loopback, comma-separated.
std::string MyAddresses() {
  std::string out;
  ifaddrs* ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) return out;
  for (ifaddrs* i = ifs; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if ((i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char b[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, b, sizeof b);
    out += (out.empty() ? "" : ",") + std::string(b);
  }
  ::freeifaddrs(ifs);
  return out;
}

bool WriteFull(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}
bool ReadFull(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// One TCP stream from rank 0 to `peer`: the peer listens and tells rank 0 where (MPI), rank 0
// connects, sends `bytes` in 1 MiB writes three times; each time is until the peer's
// one-byte acknowledgement of the last byte. Returns GB/s (median) on rank 0, 0 elsewhere.
double TcpStream(int rank, int peer, size_t bytes) {
  constexpr size_t kChunk = 1 << 20;
  std::vector<char> buf(kChunk, 'x');
  double gbs = 0;
  if (rank == peer) {
    int ls = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof a;
    int port = 0;
    if (ls >= 0 && ::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(ls, 1) == 0 &&
        ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
    std::string where = std::to_string(port) + ";" + MyAddresses();
    where.resize(256, '\0');
    MPI_Send(where.data(), 256, MPI_CHAR, 0, 77, MPI_COMM_WORLD);
    int fd = port ? ::accept(ls, nullptr, nullptr) : -1;
    for (int rep = 0; rep < 3 && fd >= 0; ++rep) {
      size_t left = bytes;
      bool ok = true;
      while (left > 0 && ok) {
        size_t n = std::min(left, kChunk);
        ok = ReadFull(fd, buf.data(), n);
        left -= n;
      }
      char ack = 1;
      if (!ok || !WriteFull(fd, &ack, 1)) break;
    }
    if (fd >= 0) ::close(fd);
    if (ls >= 0) ::close(ls);
  } else if (rank == 0) {
    char where[256];
    MPI_Recv(where, 256, MPI_CHAR, peer, 77, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    std::string w(where, strnlen(where, sizeof where));
    const int port = std::atoi(w.c_str());
    std::string addrs = w.substr(w.find(';') + 1);
    int fd = -1;
    for (size_t p = 0; port > 0 && fd < 0 && p < addrs.size();) {
      size_t e = addrs.find(',', p);
      std::string ip = addrs.substr(p, e == std::string::npos ? std::string::npos : e - p);
      p = e == std::string::npos ? addrs.size() : e + 1;
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      if (::inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) continue;
      fd = ::socket(AF_INET, SOCK_STREAM, 0);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        fd = -1;
      }
    }
    std::vector<double> times;
    for (int rep = 0; rep < 3 && fd >= 0; ++rep) {
      const double t0 = Now();
      size_t left = bytes;
      bool ok = true;
      while (left > 0 && ok) {
        size_t n = std::min(left, kChunk);
        ok = WriteFull(fd, buf.data(), n);
        left -= n;
      }
      char ack = 0;
      if (!ok || !ReadFull(fd, &ack, 1)) break;
      times.push_back(Now() - t0);
    }
    if (fd >= 0) ::close(fd);
    if (times.size() == 3) {
      std::sort(times.begin(), times.end());
      gbs = static_cast<double>(bytes) / times[1] / 1e9;
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return gbs;
}

}  // namespace

CollLayout MeasureLayout(comm::ProcessGroup& pg, size_t stream_bytes) {
  CollLayout l;
  int rank = 0, n = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  char host[64] = {};
  ::gethostname(host, sizeof host - 1);
  std::vector<char> all(64 * static_cast<size_t>(n));
  MPI_Allgather(host, 64, MPI_CHAR, all.data(), 64, MPI_CHAR, MPI_COMM_WORLD);
  for (int r = 0; r < n; ++r) l.hosts.emplace_back(all.data() + 64 * r);
  std::vector<std::string> distinct;
  for (const auto& h : l.hosts)
    if (std::find(distinct.begin(), distinct.end(), h) == distinct.end()) distinct.push_back(h);
  l.nodes = static_cast<int>(distinct.size());

  // Each rank describes its pairs with higher ranks; rank 0 collects them.
  std::string mine;
  for (int p = rank + 1; p < n; ++p) {
    mine += std::string(mine.empty() ? "" : ",") + "\"" + std::to_string(rank) + "-" + std::to_string(p) + "\":\"" +
            JsonEscape(pg.TransportTo(p)) + "\"";
  }
  int len = static_cast<int>(mine.size());
  std::vector<int> lens(static_cast<size_t>(n)), offs(static_cast<size_t>(n));
  MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < n; ++r) {
    offs[static_cast<size_t>(r)] = total;
    total += lens[static_cast<size_t>(r)];
  }
  std::string text(static_cast<size_t>(std::max(total, 1)), '\0');
  MPI_Gatherv(mine.data(), len, MPI_CHAR, text.data(), lens.data(), offs.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    std::string joined;
    for (int r = 0; r < n; ++r) {
      if (lens[static_cast<size_t>(r)] == 0) continue;
      joined += (joined.empty() ? "" : ",") + text.substr(static_cast<size_t>(offs[static_cast<size_t>(r)]),
                                                          static_cast<size_t>(lens[static_cast<size_t>(r)]));
    }
    l.transports_json = "{" + joined + "}";
  }
  int peer = -1;
  for (int r = 1; r < n && peer < 0; ++r)
    if (l.hosts[static_cast<size_t>(r)] != l.hosts[0]) peer = r;
  if (peer > 0) l.tcp_stream_gbs = TcpStream(rank, peer, stream_bytes);
  return l;
}

}  // namespace ogai::bench
