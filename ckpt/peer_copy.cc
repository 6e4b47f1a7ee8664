#include "ckpt/peer_copy.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "ckpt/format.h"
#include "core/crc32c.h"
#include "core/log.h"

namespace ogai::ckpt {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string MetaKey(const std::string& name) { return "shard/" + name + "/meta"; }
std::string PartKey(const std::string& name, int64_t i) { return "shard/" + name + "/" + std::to_string(i); }

struct Meta {
  int64_t step = -1;
  uint64_t bytes = 0;
  int64_t parts = 0;
  uint32_t crc = 0;
};

std::optional<Meta> ParseMeta(const std::string& v) {
  std::istringstream in(v);
  Meta m;
  in >> m.step >> m.bytes >> m.parts >> m.crc;
  if (!in || m.parts < 0) return std::nullopt;
  return m;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("peer copy: cannot open " + path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return ErrnoError("peer copy: cannot stat " + path, e);
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  Status s = PreadExact(fd, out.data(), out.size(), 0, path);
  ::close(fd);
  if (!s.ok()) return s;
  return out;
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
  if (opts.part_bytes == 0 || opts.part_bytes > (48u << 20)) {
    return InvalidArgument("peer copies: part_bytes must be in (0, 48 MiB] (the store's frames are at most 64 MiB)");
  }
  return std::unique_ptr<PeerCopies>(new PeerCopies(opts));
}

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

Status PeerCopies::WriteLocal(const std::string& name, int64_t step, const std::string& bytes, uint32_t crc) {
  const std::string path = opts_.local_dir + "/" + name;
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  // A new file of our own: never through a link, never an entry someone placed there.
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("peer copy: creating " + tmp, errno);
  char h[kLocalHeader] = {};
  const uint64_t size = bytes.size();
  std::memcpy(h, kLocalMagic, 8);
  std::memcpy(h + 8, &step, 8);
  std::memcpy(h + 16, &size, 8);
  std::memcpy(h + 24, &crc, 4);
  Status st = WriteAllFd(fd, h, sizeof h, "peer copy " + tmp);
  if (st.ok()) st = WriteAllFd(fd, bytes.data(), bytes.size(), "peer copy " + tmp);
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

Result<store::Store*> PeerCopies::Connect(int node, std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = conns_.find(node);
  if (it != conns_.end()) return it->second.get();
  if (unreachable_[node]) return Unavailable("shard cache of node " + std::to_string(node) + " is unreachable");
  const std::string& addr = opts_.caches[static_cast<size_t>(node)];
  const size_t colon = addr.rfind(':');
  auto s = store::ConnectTcpStore(addr.substr(0, colon), std::atoi(addr.c_str() + colon + 1), opts_.token, timeout);
  if (!s.ok()) {
    unreachable_[node] = true;
    return s.status().WithContext("shard cache of node " + std::to_string(node) + " at " + addr);
  }
  store::Store* raw = s->get();
  conns_[node] = std::move(s).value();
  return raw;
}

Status PeerCopies::PushTo(int node, const std::string& name, int64_t step, const std::string& bytes, uint32_t crc) {
  OGAI_ASSIGN_OR_RETURN(store::Store * c, Connect(node, opts_.push_timeout));
  // Invalidate the slot, replace the parts (dropping those an older, larger copy left), then
  // publish the new meta.
  OGAI_ASSIGN_OR_RETURN(auto old, c->TryGet(MetaKey(name)));
  OGAI_RETURN_IF_ERROR(c->Delete(MetaKey(name)).status());
  const size_t pb = opts_.part_bytes;
  const int64_t parts = static_cast<int64_t>((bytes.size() + pb - 1) / pb);
  for (int64_t i = 0; i < parts; ++i) {
    const size_t off = static_cast<size_t>(i) * pb;
    OGAI_RETURN_IF_ERROR(c->Set(PartKey(name, i), bytes.substr(off, std::min(pb, bytes.size() - off))));
  }
  if (old.has_value()) {
    if (auto m = ParseMeta(*old)) {
      for (int64_t i = parts; i < m->parts; ++i) OGAI_RETURN_IF_ERROR(c->Delete(PartKey(name, i)).status());
    }
  }
  char meta[96];
  std::snprintf(meta, sizeof meta, "%lld %llu %lld %u", static_cast<long long>(step),
                static_cast<unsigned long long>(bytes.size()), static_cast<long long>(parts), crc);
  return c->Set(MetaKey(name), meta);
}

Result<PeerCopies::PushStats> PeerCopies::Push(int64_t step, const std::string& path) {
  const auto t0 = Clock::now();
  OGAI_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path));
  const std::string name = path.substr(path.rfind('/') + 1);
  const uint32_t crc = Crc32c(bytes.data(), bytes.size());
  PushStats st;
  st.step = step;
  st.bytes = static_cast<int64_t>(bytes.size());
  std::string errors;
  if (!opts_.local_dir.empty()) {
    Status s = WriteLocal(name, step, bytes, crc);
    if (s.ok()) {
      ++st.places;
    } else {
      errors = s.message();
      OGAI_LOG(Warn) << s.message();
    }
  }
  for (int node : Targets()) {
    Status s = PushTo(node, name, step, bytes, crc);
    if (s.ok()) {
      ++st.places;
    } else {
      errors += (errors.empty() ? "" : "; ") + s.message();
      OGAI_LOG(Warn) << "peer copy of " << name << " (step " << step << ") to node " << node << ": " << s.message();
      std::lock_guard<std::mutex> lock(mu_);
      conns_.erase(node);  // reconnect next time
    }
  }
  st.seconds = Since(t0);
  if (st.places == 0) return Unavailable("peer copy of " + path + ": no place took it: " + errors);
  return st;
}

std::optional<std::string> PeerCopies::FetchFrom(int node, const std::string& name, int64_t step, uint64_t size) {
  auto c = Connect(node, opts_.fetch_connect_timeout);
  if (!c.ok()) {
    OGAI_LOG(Debug) << "peer copy: " << c.status().message();
    return std::nullopt;
  }
  auto mv = (*c)->TryGet(MetaKey(name));
  if (!mv.ok() || !mv->has_value()) return std::nullopt;
  auto m = ParseMeta(**mv);
  if (!m || m->step != step || m->bytes != size) return std::nullopt;
  std::string out;
  out.reserve(static_cast<size_t>(size));
  for (int64_t i = 0; i < m->parts; ++i) {
    auto part = (*c)->TryGet(PartKey(name, i));
    if (!part.ok() || !part->has_value()) return std::nullopt;
    out += **part;
  }
  if (out.size() != size || Crc32c(out.data(), out.size()) != m->crc) {
    OGAI_LOG(Warn) << "peer copy of " << name << " on node " << node << " is damaged; reading it from disk";
    return std::nullopt;
  }
  return out;
}

ShardBytes PeerCopies::Fetch(int64_t step, const std::vector<std::pair<std::string, uint64_t>>& files,
                             FetchStats* stats) {
  const auto t0 = Clock::now();
  ShardBytes out;
  const int n = static_cast<int>(opts_.caches.size());
  int local = 0;
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
      auto got = FetchFrom(node, name, step, size);
      if (got.has_value()) {
        out.emplace(name, ShardView::Own(std::move(*got)));
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
