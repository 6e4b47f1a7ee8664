#include "ckpt/peer_copy.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>

#include "ckpt/format.h"
#include "core/crc32c.h"
#include "core/log.h"
#include "store/blob_client.h"

namespace ogai::ckpt {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The shard file, mapped read-only: what a push sends from (no copy in user space).
struct FileMap {
  int fd = -1;  // kept open: the caches get the bytes by sendfile(2) from it
  const char* data = nullptr;
  size_t size = 0;
  size_t len = 0;  // mapped
  ~FileMap() {
    if (len > 0) ::munmap(const_cast<char*>(data), len);
    if (fd >= 0) ::close(fd);
  }
};

Status MapFile(const std::string& path, FileMap* m) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("peer copy: cannot open " + path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return ErrnoError("peer copy: cannot stat " + path, e);
  }
  m->size = static_cast<size_t>(st.st_size);
  if (m->size > 0) {
    void* base = ::mmap(nullptr, m->size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (base == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      return ErrnoError("peer copy: cannot map " + path, e);
    }
    m->data = static_cast<const char*>(base);
    m->len = m->size;
  }
  m->fd = fd;
  return Status::Ok();
}

std::pair<std::string, int> HostPort(const std::string& addr) {
  const size_t colon = addr.rfind(':');
  return {addr.substr(0, colon), std::atoi(addr.c_str() + colon + 1)};
}

}  // namespace

Result<std::vector<std::string>> PeerCopies::ParseCacheList(const std::string& list) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= list.size()) {
    size_t e = list.find(',', b);
    if (e == std::string::npos) e = list.size();
    std::string item = list.substr(b, e - b);
    if (!item.empty()) {
      const size_t colon = item.rfind(':');
      const std::string port = colon == std::string::npos ? "" : item.substr(colon + 1);
      if (colon == 0 || port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
          std::atoi(port.c_str()) <= 0 || std::atoi(port.c_str()) > 65535) {
        return InvalidArgument("shard cache list '" + list + "': entry '" + item +
                               "' is not host:port (OGAI_SHARD_CACHES is set by ogai-run)");
      }
    }
    out.push_back(item);
    b = e + 1;
  }
  return out;
}

Result<std::unique_ptr<PeerCopies>> PeerCopies::Create(const Options& opts) {
  if (opts.caches.empty()) return InvalidArgument("peer copies need at least one shard cache");
  if (opts.node < 0 || opts.node >= static_cast<int>(opts.caches.size())) {
    return InvalidArgument("peer copies: node " + std::to_string(opts.node) + " is not in the list of " +
                           std::to_string(opts.caches.size()) + " shard caches");
  }
  if (opts.copies < 0) return InvalidArgument("peer copies: copies must be >= 0");
  return std::unique_ptr<PeerCopies>(new PeerCopies(opts));
}

PeerCopies::PeerCopies(Options o) : opts_(std::move(o)) {}
PeerCopies::~PeerCopies() = default;

std::vector<int> PeerCopies::Targets() const {
  const int n = static_cast<int>(opts_.caches.size());
  std::vector<int> out;
  for (int k = 0; k <= opts_.copies && k < n; ++k) {
    const int node = (opts_.node + k) % n;
    if (!opts_.caches[static_cast<size_t>(node)].empty()) out.push_back(node);
  }
  return out;
}

namespace {
constexpr char kLocalMagic[8] = {'O', 'G', 'A', 'I', 'P', 'E', 'E', 'R'};
constexpr size_t kLocalHeader = 64;  // magic, int64 step, uint64 bytes, uint32 crc, zeros

// A read-only mapping, unmapped when the last ShardView holding it goes.
struct Mapping {
  void* base = nullptr;
  size_t len = 0;
  ~Mapping() {
    if (base != nullptr) ::munmap(base, len);
  }
};
}  // namespace

Status PeerCopies::WriteLocal(const std::string& name, int64_t step, const char* data, size_t size, uint32_t crc) {
  const std::string path = opts_.local_dir + "/" + name;
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  // A new file of our own: never through a link, never an entry someone placed there.
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("peer copy: creating " + tmp, errno);
  char h[kLocalHeader] = {};
  const uint64_t size64 = size;
  std::memcpy(h, kLocalMagic, 8);
  std::memcpy(h + 8, &step, 8);
  std::memcpy(h + 16, &size64, 8);
  std::memcpy(h + 24, &crc, 4);
  Status st = WriteAllFd(fd, h, sizeof h, "peer copy " + tmp);
  if (st.ok()) st = WriteAllFd(fd, data, size, "peer copy " + tmp);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = ErrnoError("peer copy: renaming " + tmp, errno);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

std::optional<ShardView> PeerCopies::MapLocal(const std::string& name, int64_t step, uint64_t size) {
  const std::string path = opts_.local_dir + "/" + name;
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::optional<ShardView> out;
  if (::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) == kLocalHeader + size) {
    void* base = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (base != MAP_FAILED) {
      auto m = std::make_shared<Mapping>();
      m->base = base;
      m->len = static_cast<size_t>(st.st_size);
      const char* h = static_cast<const char*>(base);
      int64_t hstep = 0;
      uint64_t hsize = 0;
      std::memcpy(&hstep, h + 8, 8);
      std::memcpy(&hsize, h + 16, 8);
      // Only the header is checked here: the reader checks every chunk it uses against the
      // manifest's CRC-32C, as it does for files on disk.
      if (std::memcmp(h, kLocalMagic, 8) == 0 && hstep == step && hsize == size) {
        ShardView v;
        v.data = h + kLocalHeader;
        v.size = static_cast<size_t>(size);
        v.owner = m;
        out = v;
      }
    }
  }
  ::close(fd);
  return out;
}

Result<store::BlobClient*> PeerCopies::PushConn(int node, bool* reused) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& c = conns_[node];
  *reused = c != nullptr;
  if (c == nullptr) {
    const auto [host, port] = HostPort(opts_.caches[static_cast<size_t>(node)]);
    store::BlobClient::Options co;
    co.connect_timeout = opts_.push_timeout;
    co.io_timeout = opts_.push_timeout;
    OGAI_ASSIGN_OR_RETURN(c, store::BlobClient::Connect(host, port, opts_.token, co));
  }
  return c.get();
}

void PeerCopies::DropConn(int node) {
  std::lock_guard<std::mutex> lock(mu_);
  conns_.erase(node);
}

void PeerCopies::PushToAll(const std::vector<int>& nodes, const std::string& name, int64_t step, int file_fd,
                           size_t size, uint32_t crc, std::vector<Status>* results, std::vector<bool>* reused) {
  // Each step to every cache before the next, so that the round trips overlap: the caches
  // make room, take the bytes and check them at the same time.
  std::vector<store::BlobClient*> conns(nodes.size(), nullptr);
  results->assign(nodes.size(), Status::Ok());
  reused->assign(nodes.size(), false);
  for (size_t i = 0; i < nodes.size(); ++i) {
    bool r = false;
    auto c = PushConn(nodes[i], &r);
    (*reused)[i] = r;
    if (c.ok()) {
      conns[i] = *c;
    } else {
      (*results)[i] = c.status();
    }
  }
  auto stage = [&](const std::function<Status(store::BlobClient*)>& f) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if ((*results)[i].ok()) (*results)[i] = f(conns[i]);
    }
  };
  stage([&](store::BlobClient* c) { return c->PutRequest(name, step, size, crc); });
  stage([](store::BlobClient* c) { return c->PutAwaitRoom(); });
  stage([&](store::BlobClient* c) { return c->PutBytesFromFile(file_fd, 0, size); });
  stage([](store::BlobClient* c) { return c->PutAwaitDone(); });
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!(*results)[i].ok()) DropConn(nodes[i]);
  }
}

std::chrono::steady_clock::time_point PeerCopies::SkipUntil(int node) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = skip_until_.find(node);
  return it == skip_until_.end() ? Clock::time_point() : it->second;
}

Result<PeerCopies::PushStats> PeerCopies::Push(int64_t step, const std::string& path) {
  // The copy is background work: it runs on a thread of its own at a lower priority (nice
  // kPushNice), so that the training threads of this rank get the CPU first. A thread, not
  // the caller's: a thread may lower its own priority but not raise it back.
  Result<PushStats> out = Unavailable("peer copy: not run");
  std::thread worker([&] {
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kPushNice);
    out = PushHere(step, path);
  });
  worker.join();
  return out;
}

Result<PeerCopies::PushStats> PeerCopies::PushHere(int64_t step, const std::string& path) {
  const auto t0 = Clock::now();
  FileMap file;
  OGAI_RETURN_IF_ERROR(MapFile(path, &file));
  const std::string name = path.substr(path.rfind('/') + 1);
  const uint32_t crc = Crc32c(file.data, file.size);
  PushStats st;
  st.step = step;
  st.bytes = static_cast<int64_t>(file.size);
  std::string errors;
  if (!opts_.local_dir.empty()) {
    Status s = WriteLocal(name, step, file.data, file.size, crc);
    if (s.ok()) {
      ++st.places;
    } else {
      errors = s.message();
      OGAI_LOG(Warn) << s.message();
    }
  }
  std::vector<int> nodes;
  for (int node : Targets()) {
    if (SkipUntil(node) > Clock::now()) {
      errors += (errors.empty() ? "" : "; ") + ("node " + std::to_string(node) + " failed recently");
    } else {
      nodes.push_back(node);
    }
  }
  std::vector<Status> results;
  std::vector<bool> reused;
  PushToAll(nodes, name, step, file.fd, file.size, crc, &results, &reused);
  // A connection kept from an earlier push may have been closed by its cache meanwhile (idle,
  // restarted): those get one more try on a new connection.
  std::vector<int> again;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!results[i].ok() && reused[i] && results[i].code() == Code::kUnavailable) again.push_back(nodes[i]);
  }
  if (!again.empty()) {
    std::vector<Status> retried;
    std::vector<bool> unused;
    PushToAll(again, name, step, file.fd, file.size, crc, &retried, &unused);
    for (size_t i = 0, j = 0; i < nodes.size() && j < again.size(); ++i) {
      if (nodes[i] == again[j]) results[i] = retried[j++];
    }
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const int node = nodes[i];
    const Status& s = results[i];
    if (s.ok()) {
      ++st.places;
    } else {
      errors += (errors.empty() ? "" : "; ") + s.message();
      OGAI_LOG(Warn) << "peer copy of " << name << " (step " << step << ") to node " << node << ": " << s.message()
                     << "; not trying that node again for " << kRetryAfter.count() << " s";
      std::lock_guard<std::mutex> lock(mu_);
      skip_until_[node] = Clock::now() + kRetryAfter;
    }
  }
  st.seconds = Since(t0);
  if (st.places == 0) return Unavailable("peer copy of " + path + ": no place took it: " + errors);
  return st;
}

ShardBytes PeerCopies::Fetch(int64_t step, const std::vector<std::pair<std::string, uint64_t>>& files,
                             FetchStats* stats) {
  const auto t0 = Clock::now();
  ShardBytes out;
  const int n = static_cast<int>(opts_.caches.size());
  int local = 0;
  // One connection per cache for the whole fetch; a cache that cannot be reached (or breaks
  // a transfer) is not asked again.
  std::vector<std::unique_ptr<store::BlobClient>> clients(static_cast<size_t>(n));
  std::vector<bool> unreachable(static_cast<size_t>(n), false);
  auto client = [&](int node) -> store::BlobClient* {
    const size_t i = static_cast<size_t>(node);
    if (clients[i] == nullptr && !unreachable[i]) {
      const auto [host, port] = HostPort(opts_.caches[i]);
      store::BlobClient::Options co;
      co.connect_timeout = opts_.fetch_connect_timeout;
      co.io_timeout = opts_.push_timeout;
      auto c = store::BlobClient::Connect(host, port, opts_.token, co);
      if (c.ok()) {
        clients[i] = std::move(c).value();
      } else {
        OGAI_LOG(Debug) << "peer copy: shard cache of node " << node << ": " << c.status().message();
        unreachable[i] = true;
      }
    }
    return clients[i].get();
  };
  for (const auto& [name, size] : files) {
    if (!opts_.local_dir.empty()) {
      auto got = MapLocal(name, step, size);
      if (got.has_value()) {
        out.emplace(name, *got);
        ++local;
        continue;
      }
    }
    for (int k = 0; k < n; ++k) {
      const int node = (opts_.node + k) % n;  // own node first
      if (opts_.caches[static_cast<size_t>(node)].empty()) continue;
      store::BlobClient* c = client(node);
      if (c == nullptr) continue;
      auto got = c->Get(name, step, size);
      if (!got.ok()) {
        OGAI_LOG(Warn) << "peer copy of " << name << " on node " << node << ": " << got.status().message()
                       << "; trying elsewhere, else reading it from disk";
        clients[static_cast<size_t>(node)].reset();
        unreachable[static_cast<size_t>(node)] = true;
        continue;
      }
      if (got->has_value()) {
        ShardView v;
        v.data = (*got)->data.get();
        v.size = static_cast<size_t>((*got)->size);
        v.owner = std::move((*got)->data);
        out.emplace(name, std::move(v));
        break;
      }
    }
  }
  if (stats != nullptr) {
    stats->files = static_cast<int>(out.size());
    stats->local_files = local;
    stats->bytes = 0;
    for (const auto& [name, b] : out) stats->bytes += static_cast<int64_t>(b.size);
    stats->seconds = Since(t0);
  }
  return out;
}

}  // namespace ogai::ckpt
