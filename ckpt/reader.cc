#include "ckpt/reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "ckpt/format.h"
#include "core/crc32c.h"
#include "core/log.h"
#include "core/memory.h"

namespace ogai::ckpt {
namespace {

std::string Hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08" PRIx32, v);
  return buf;
}

std::string ShapeStr(const std::vector<int64_t>& s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + "]";
}

std::vector<int64_t> ShapeOf(const pb::Tensor& t) { return {t.shape().begin(), t.shape().end()}; }

// The largest checksum chunk a writer makes (OGAI_CKPT_CHUNK_KB at most 1048576 KiB), and
// the largest tensor (2^50 elements): a manifest beyond them is crafted or damaged.
constexpr uint64_t kMaxChunkBytes = uint64_t{1} << 30;
constexpr int64_t kMaxTensorElements = int64_t{1} << 50;

Status CheckShape(const pb::Tensor& t) {
  int64_t n = 1;
  for (int64_t d : t.shape()) {
    if (d < 0 || d > kMaxTensorElements || (d > 0 && n > kMaxTensorElements / d)) {
      return Corruption("manifest: tensor '" + t.name() + "' has an impossible shape (a dimension of " +
                        std::to_string(d) + ")");
    }
    n *= d;
  }
  return Status::Ok();
}

// Checks that a piece's numbers agree with each other, with its tensor and with its file's
// size in the manifest (whose real size FileSet::Open and Verify check), without overflow:
// nothing is allocated or read for a piece that fails.
Status CheckPiece(const pb::Manifest& m, const pb::Tensor& t, const pb::Piece& p) {
  const std::string where = "manifest: tensor '" + t.name() + "'";
  if (p.file() < 0 || p.file() >= m.files_size())
    return Corruption(where + ": a piece names file " + std::to_string(p.file()) + ", which does not exist");
  const uint64_t file_bytes = m.files(p.file()).bytes();
  if (p.byte_offset() > file_bytes || p.byte_length() > file_bytes - p.byte_offset()) {
    return Corruption(where + ": a piece of " + std::to_string(p.byte_length()) + " bytes at offset " +
                      std::to_string(p.byte_offset()) + " lies outside its file (" + std::to_string(file_bytes) +
                      " bytes)");
  }
  if (p.chunk_bytes() > kMaxChunkBytes || p.chunk_bytes() % 4 != 0) {
    return Corruption(where + ": a piece's chunk size of " + std::to_string(p.chunk_bytes()) +
                      " bytes is not one a writer makes (a multiple of 4, at most 1 GiB)");
  }
  OGAI_RETURN_IF_ERROR(CheckShape(t));
  Region r = PieceRegion(p);
  if (Status st = r.CheckWithin(ShapeOf(t)); !st.ok()) return Corruption(where + ": " + st.message());
  if (p.byte_length() != static_cast<uint64_t>(r.numel()) * 4)
    return Corruption(where + ": a piece's byte length does not match its element count");
  if (p.byte_length() > 0 && p.chunk_bytes() == 0) return Corruption(where + ": a piece has no chunk size");
  const uint64_t chunks = p.chunk_bytes() == 0 ? 0 : (p.byte_length() + p.chunk_bytes() - 1) / p.chunk_bytes();
  if (static_cast<uint64_t>(p.chunk_crc32c_size()) != chunks)
    return Corruption(where + ": a piece has " + std::to_string(p.chunk_crc32c_size()) + " chunk checksums for " +
                      std::to_string(chunks) + " chunks");
  if (p.byte_offset() < kShardHeaderBytes) return Corruption(where + ": a piece starts inside the shard header");
  return Status::Ok();
}

// Open shard files, each header checked once; files held in memory are used in their place.
class FileSet {
 public:
  FileSet(const std::string& dir, const pb::Manifest& m, const ShardBytes* mem) : dir_(dir), m_(m), mem_(mem) {}
  ~FileSet() {
    for (auto& [i, fd] : fds_) ::close(fd);
  }
  std::string Path(int file) const {
    const std::string p = JoinPath(dir_, m_.files(file).name());
    return Memory(file) != nullptr ? p + " (in-memory copy)" : p;
  }
  // Checks the file's header once. Then ReadAt reads from it.
  Status Open(int file) {
    if (fds_.count(file) || checked_mem_.count(file)) return Status::Ok();
    const std::string path = Path(file);
    uint8_t h[kShardHeaderBytes];
    size_t n = 0;
    int fd = -1;
    if (const ShardView* mem = Memory(file)) {
      if (mem->size != m_.files(file).bytes()) {
        return Corruption(path + " is " + std::to_string(mem->size) + " bytes, the manifest says " +
                          std::to_string(m_.files(file).bytes()));
      }
      n = std::min(mem->size, sizeof(h));
      std::memcpy(h, mem->data, n);
    } else {
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        if (errno == ENOENT)
          return NotFound(path + " is missing (the manifest lists it): the checkpoint is incomplete");
        return ErrnoError("cannot open " + path, errno);
      }
      struct stat stt {};
      if (::fstat(fd, &stt) != 0 || static_cast<uint64_t>(stt.st_size) != m_.files(file).bytes()) {
        ::close(fd);
        const bool shorter = static_cast<uint64_t>(stt.st_size) < m_.files(file).bytes();
        return Corruption(path + (shorter ? " is truncated: " : " is ") + std::to_string(stt.st_size) +
                          " bytes, the manifest says " + std::to_string(m_.files(file).bytes()) +
                          ": the file is damaged; resume from an earlier checkpoint (checkpoint.resume=PATH)");
      }
      ssize_t got = ::pread(fd, h, sizeof(h), 0);
      n = got < 0 ? 0 : static_cast<size_t>(got);
    }
    ShardHeader sh;
    Status st = DecodeShardHeader(h, n, path, &sh);
    if (st.ok() && sh.step != m_.step()) {
      st = Corruption(path + ": shard header says step " + std::to_string(sh.step) + ", the manifest " +
                      std::to_string(m_.step()) + " (a file from another checkpoint)");
    }
    if (!st.ok()) {
      if (fd >= 0) ::close(fd);
      return st;
    }
    if (fd >= 0) {
      fds_[file] = fd;
    } else {
      checked_mem_.insert(file);
    }
    return Status::Ok();
  }
  Status ReadAt(int file, void* dst, size_t len, uint64_t off) {
    if (const ShardView* mem = Memory(file)) {
      if (off > mem->size || len > mem->size - off) {  // (off + len could wrap)
        return IoError(Path(file) + ": reading " + std::to_string(len) + " bytes at offset " + std::to_string(off) +
                       " runs past its end (" + std::to_string(mem->size) + " bytes)");
      }
      std::memcpy(dst, mem->data + off, len);
      return Status::Ok();
    }
    return PreadExact(fds_.at(file), dst, len, off, Path(file));
  }

 private:
  const ShardView* Memory(int file) const {
    if (mem_ == nullptr) return nullptr;
    auto it = mem_->find(m_.files(file).name());
    return it == mem_->end() ? nullptr : &it->second;
  }
  std::string dir_;
  const pb::Manifest& m_;
  const ShardBytes* mem_;
  std::map<int, int> fds_;
  std::set<int> checked_mem_;
};

std::string ChunkWhere(const std::string& path, const std::string& tensor, uint64_t off, uint64_t len) {
  return path + ": tensor '" + tensor + "': chunk at byte offset " + std::to_string(off) + " (" + std::to_string(len) +
         " bytes)";
}

}  // namespace

ShardView ShardView::Own(std::string bytes) {
  auto s = std::make_shared<const std::string>(std::move(bytes));
  ShardView v;
  v.data = s->data();
  v.size = s->size();
  v.owner = s;
  return v;
}

std::string Fault::ToString() const {
  std::string s = file;
  if (!tensor.empty()) s += ": tensor '" + tensor + "'";
  s += ": byte offset " + std::to_string(offset) + ": " + what;
  return s;
}

Region PieceRegion(const pb::Piece& p) {
  Region r;
  r.begin.assign(p.box_begin().begin(), p.box_begin().end());
  r.extent.assign(p.box_extent().begin(), p.box_extent().end());
  r.flat_begin = p.flat_begin();
  r.flat_end = p.flat_end();
  return r;
}

Result<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& path) {
  std::error_code ec;
  std::string dir = path;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (!std::filesystem::exists(dir, ec)) {
    return NotFound("checkpoint path " + dir + " does not exist");
  }
  if (!std::filesystem::exists(JoinPath(dir, kManifestName), ec) &&
      std::filesystem::exists(JoinPath(dir, kLatestName), ec)) {
    auto latest = ReadLatest(dir);
    if (!latest.ok()) return latest.status();
    dir = JoinPath(dir, *latest);
  } else if (!std::filesystem::exists(JoinPath(dir, kManifestName), ec) && ParseStepDirName(dir) < 0) {
    return NotFound(dir +
                    " holds neither a manifest.pb nor a `latest` file: give a checkpoint "
                    "root (checkpoint.dir) or one of its step_NNNNNNNN directories");
  }
  std::unique_ptr<Checkpoint> c(new Checkpoint());
  c->dir_ = dir;
  OGAI_ASSIGN_OR_RETURN(c->m_, ReadManifest(dir));
  for (const pb::Tensor& t : c->m_.tensors()) {
    for (const pb::Piece& p : t.pieces()) {
      OGAI_RETURN_IF_ERROR(CheckPiece(c->m_, t, p).WithContext(dir));
    }
  }
  return c;
}

const pb::Tensor* Checkpoint::FindTensor(const std::string& name) const {
  for (const auto& t : m_.tensors())
    if (t.name() == name) return &t;
  return nullptr;
}

int64_t Checkpoint::TotalBytes() const {
  int64_t n = 0;
  for (const auto& f : m_.files()) n += static_cast<int64_t>(f.bytes());
  return n;
}

std::vector<int> Checkpoint::FilesFor(const std::vector<ReadSlice>& slices) const {
  std::map<std::string, std::vector<const ReadSlice*>> by_name;
  for (const ReadSlice& s : slices) by_name[s.name].push_back(&s);
  std::set<int> files;
  for (const pb::Tensor& t : m_.tensors()) {
    auto it = by_name.find(t.name());
    if (it == by_name.end()) continue;
    for (const pb::Piece& p : t.pieces()) {
      if (files.count(p.file())) continue;
      const Region pr = PieceRegion(p);
      for (const ReadSlice* s : it->second) {
        if (OverlapCount(pr, s->region) > 0) {
          files.insert(p.file());
          break;
        }
      }
    }
  }
  return {files.begin(), files.end()};
}

Status Checkpoint::Read(const std::vector<ReadSlice>& slices, const ShardBytes* in_memory) const {
  std::map<std::string, int> tensor_index;
  for (int i = 0; i < m_.tensors_size(); ++i) tensor_index[m_.tensors(i).name()] = i;
  // Slices per tensor, after checking each against the manifest.
  std::map<int, std::vector<const ReadSlice*>> wanted;
  for (const ReadSlice& s : slices) {
    auto it = tensor_index.find(s.name);
    if (it == tensor_index.end()) {
      return NotFound("checkpoint " + dir_ + " has no tensor '" + s.name + "' (it holds " +
                      std::to_string(m_.tensors_size()) + "); was it saved from another model config?");
    }
    const pb::Tensor& t = m_.tensors(it->second);
    if (ShapeOf(t) != s.global_shape) {
      return InvalidArgument("checkpoint " + dir_ + ": tensor '" + s.name + "' has shape " + ShapeStr(ShapeOf(t)) +
                             " but this model's is " + ShapeStr(s.global_shape) +
                             "; the model config differs from the one the checkpoint was saved with");
    }
    OGAI_RETURN_IF_ERROR(s.region.CheckWithin(s.global_shape).WithContext("reading tensor '" + s.name + "'"));
    int64_t covered = 0;
    for (const pb::Piece& p : t.pieces()) covered += OverlapCount(PieceRegion(p), s.region);
    if (covered != s.region.numel()) {
      return Corruption("checkpoint " + dir_ + ": the pieces of tensor '" + s.name + "' cover " +
                        std::to_string(covered) + " of the " + std::to_string(s.region.numel()) + " elements of " +
                        s.region.ToString() + " needed");
    }
    wanted[it->second].push_back(&s);
  }

  FileSet files(dir_, m_, in_memory);
  Buffer scratch;
  for (const auto& [ti, want] : wanted) {
    const pb::Tensor& t = m_.tensors(ti);
    for (const pb::Piece& p : t.pieces()) {
      const Region pr = PieceRegion(p);
      bool any = false;
      for (const ReadSlice* s : want) any = any || OverlapCount(pr, s->region) > 0;
      if (!any) continue;
      if (Status st = files.Open(p.file()); !st.ok()) {
        return Status(st.code(), "tensor '" + t.name() + "': " + st.message());
      }
      const std::string path = files.Path(p.file());
      const int64_t celems = static_cast<int64_t>(p.chunk_bytes() / 4);
      for (int c = 0; c < p.chunk_crc32c_size(); ++c) {
        const int64_t e0 = c * celems;
        const int64_t e1 = std::min<int64_t>(pr.numel(), e0 + celems);
        const Region cr = pr.Sub(e0, e1);
        struct Run {
          float* dst;
          int64_t src, n;
        };
        std::vector<Run> runs;
        for (const ReadSlice* s : want) {
          ForEachOverlap(cr, s->region, [&](int64_t so, int64_t dso, int64_t n) {
            runs.push_back({s->data + dso, so, n});
          });
        }
        if (runs.empty()) continue;
        const uint64_t off = p.byte_offset() + static_cast<uint64_t>(e0) * 4;
        const size_t len = static_cast<size_t>(e1 - e0) * 4;
        uint8_t* buf;
        const bool direct = runs.size() == 1 && runs[0].src == 0 && runs[0].n == e1 - e0;
        if (direct) {
          buf = reinterpret_cast<uint8_t*>(runs[0].dst);
        } else {
          if (scratch.size() < len) scratch = Buffer(len, MemCategory::kStaging);
          buf = scratch.as<uint8_t>();
        }
        Status st = files.ReadAt(p.file(), buf, len, off);
        if (!st.ok()) {
          return Status(st.code(), "tensor '" + t.name() + "': " + st.message() + "; the file is damaged: " +
                                       "resume from an earlier checkpoint (checkpoint.resume=PATH)");
        }
        const uint32_t crc = Crc32c(buf, len);
        if (crc != p.chunk_crc32c(c)) {
          return Corruption(ChunkWhere(path, t.name(), off, len) + " fails its CRC-32C (stored " +
                            Hex(p.chunk_crc32c(c)) + ", computed " + Hex(crc) +
                            "): the file is damaged; `ogai-ckpt verify " + dir_ +
                            "` lists every fault; resume from an earlier checkpoint (checkpoint.resume=PATH)");
        }
        if (!direct) {
          const float* f = scratch.as<float>();
          for (const Run& r : runs) std::memcpy(r.dst, f + r.src, static_cast<size_t>(r.n) * 4);
        }
      }
    }
  }
  return Status::Ok();
}

std::vector<Fault> Checkpoint::Verify(int64_t* bytes_checked) const {
  std::vector<Fault> faults;
  int64_t checked = 0;
  std::vector<int> fds(m_.files_size(), -1);
  std::vector<uint64_t> sizes(m_.files_size(), 0);  // real sizes: nothing is read (or allocated) past them
  for (int i = 0; i < m_.files_size(); ++i) {
    const std::string path = JoinPath(dir_, m_.files(i).name());
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      faults.push_back({path, "", 0, std::string("cannot open: ") + std::strerror(errno)});
      continue;
    }
    struct stat stt {};
    ::fstat(fd, &stt);
    const uint64_t size = static_cast<uint64_t>(stt.st_size);
    sizes[i] = size;
    if (size < m_.files(i).bytes()) {
      faults.push_back({path, "", size,
                        "truncated: the file is " + std::to_string(size) + " bytes, the manifest says " +
                            std::to_string(m_.files(i).bytes())});
    } else if (size > m_.files(i).bytes()) {
      faults.push_back({path, "", m_.files(i).bytes(),
                        "the file is " + std::to_string(size) + " bytes, " +
                            std::to_string(size - m_.files(i).bytes()) + " more than the manifest says"});
    }
    uint8_t h[kShardHeaderBytes];
    ssize_t n = ::pread(fd, h, sizeof(h), 0);
    ShardHeader sh;
    Status st = DecodeShardHeader(h, n < 0 ? 0 : static_cast<size_t>(n), path, &sh);
    if (!st.ok()) {
      faults.push_back({path, "", 0, st.message()});
    } else if (sh.step != m_.step()) {
      faults.push_back(
          {path, "", 16,
           "shard header says step " + std::to_string(sh.step) + ", the manifest " + std::to_string(m_.step())});
    }
    fds[i] = fd;
  }
  std::vector<uint8_t> buf;
  for (const pb::Tensor& t : m_.tensors()) {
    int64_t want = 1, have = 0;
    for (int64_t d : t.shape()) want *= d;
    for (const pb::Piece& p : t.pieces()) {
      have += p.flat_end() - p.flat_begin();
      if (p.file() < 0 || p.file() >= m_.files_size() || fds[p.file()] < 0) continue;
      const std::string path = JoinPath(dir_, m_.files(p.file()).name());
      for (int c = 0; c < p.chunk_crc32c_size(); ++c) {
        const uint64_t off = p.byte_offset() + static_cast<uint64_t>(c) * p.chunk_bytes();
        const uint64_t len = std::min<uint64_t>(p.chunk_bytes(), p.byte_offset() + p.byte_length() - off);
        if (off > sizes[p.file()] || len > sizes[p.file()] - off) {
          faults.push_back({path, t.name(), off,
                            "chunk of " + std::to_string(len) + " bytes runs past the end of the file (" +
                                std::to_string(sizes[p.file()]) + " bytes)"});
          continue;
        }
        buf.resize(len);
        Status st = PreadExact(fds[p.file()], buf.data(), len, off, path);
        if (!st.ok()) {
          faults.push_back(
              {path, t.name(), off, "chunk of " + std::to_string(len) + " bytes cannot be read: " + st.message()});
          continue;
        }
        checked += static_cast<int64_t>(len);
        const uint32_t crc = Crc32c(buf.data(), len);
        if (crc != p.chunk_crc32c(c)) {
          faults.push_back({path, t.name(), off,
                            "chunk of " + std::to_string(len) + " bytes fails its CRC-32C (stored " +
                                Hex(p.chunk_crc32c(c)) + ", computed " + Hex(crc) + ")"});
        }
      }
    }
    if (have != want) {
      faults.push_back(
          {JoinPath(dir_, kManifestName), t.name(), 0,
           "the pieces hold " + std::to_string(have) + " of the tensor's " + std::to_string(want) + " elements"});
    }
  }
  for (int fd : fds)
    if (fd >= 0) ::close(fd);
  if (bytes_checked != nullptr) *bytes_checked = checked;
  return faults;
}

Result<std::vector<std::string>> ResumeCandidates(const std::string& dir) {
  OGAI_ASSIGN_OR_RETURN(auto list, ListCheckpoints(dir));
  std::vector<std::string> out;
  int64_t below = INT64_MAX;
  auto latest = ReadLatest(dir);
  if (latest.ok()) {
    const std::string p = JoinPath(dir, *latest);
    bool committed = false;
    for (const auto& e : list) committed = committed || (e.path == p && e.committed);
    if (committed) {
      out.push_back(p);
      below = ParseStepDirName(*latest);
    } else {
      OGAI_LOG(Warn) << "checkpoint: " << JoinPath(dir, kLatestName) << " names " << *latest
                     << ", which is not a committed checkpoint; trying the others, newest first";
    }
  } else if (latest.status().code() != Code::kNotFound) {
    OGAI_LOG(Warn) << "checkpoint: " << latest.status().message()
                   << "; trying every committed checkpoint, newest first";
  }
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    if (it->committed && it->step < below) out.push_back(it->path);
  }
  return out;
}

}  // namespace ogai::ckpt
