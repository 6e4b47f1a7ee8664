#include "ckpt/format.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/bytes.h"
#include "core/crc32c.h"
#include "core/file_io.h"

namespace ogai::ckpt {
namespace fs = std::filesystem;

namespace {

// Writes `bytes` to DIR/NAME via DIR/NAME.tmp, fsync, rename, fsync DIR.
Status PublishFile(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string final_path = JoinPath(dir, name);
  const std::string tmp = final_path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create " + tmp, errno);
  Status st = WriteAllFd(fd, bytes.data(), bytes.size(), tmp);
  if (st.ok() && ::fsync(fd) != 0) st = ErrnoError("fsync " + tmp, errno);
  if (::close(fd) != 0 && st.ok()) st = ErrnoError("close " + tmp, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("cannot rename " + tmp + " to " + final_path, e);
  }
  return FsyncPath(dir);
}

// A missing file is "PATH does not exist" (what `ogai-ckpt` and a resume say of a step folder
// without its manifest); any other failure is ReadFile's.
Result<std::string> ReadSmallFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) return NotFound(path + " does not exist");
  return ReadFile(path);
}

}  // namespace

std::string StepDirName(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "step_%08lld", static_cast<long long>(step));
  return buf;
}

std::string ShardFileName(int rank) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "rank_%05d.shard", rank);
  return buf;
}

bool IsShardFileName(const std::string& name) {
  // "rank_" + at least 5 digits + ".shard", as ShardFileName writes it.
  const std::string pre = "rank_", suf = ".shard";
  if (name.size() < pre.size() + 5 + suf.size() || name.size() > pre.size() + 10 + suf.size()) return false;
  if (name.compare(0, pre.size(), pre) != 0 || name.compare(name.size() - suf.size(), suf.size(), suf) != 0) {
    return false;
  }
  for (size_t i = pre.size(); i < name.size() - suf.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  return true;
}

int64_t ParseStepDirName(const std::string& path) {
  std::string name = path;
  while (!name.empty() && name.back() == '/') name.pop_back();
  const size_t slash = name.rfind('/');
  if (slash != std::string::npos) name = name.substr(slash + 1);
  if (name.size() < 6 || name.compare(0, 5, "step_") != 0) return -1;
  int64_t v = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || v > (int64_t{1} << 55)) return -1;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

void EncodeShardHeader(const ShardHeader& h, uint8_t out[kShardHeaderBytes]) {
  std::memset(out, 0, kShardHeaderBytes);
  std::memcpy(out, kShardMagic, 8);
  PutU32(out + 8, kFormatVersion);
  PutU32(out + 12, static_cast<uint32_t>(h.rank));
  PutU64(out + 16, static_cast<uint64_t>(h.step));
  PutU32(out + 24, Crc32c(out, 24));
}

Status DecodeShardHeader(const uint8_t* in, size_t n, const std::string& path, ShardHeader* h) {
  if (n < kShardHeaderBytes) {
    return Corruption(path + ": file is " + std::to_string(n) + " bytes, shorter than the " +
                      std::to_string(kShardHeaderBytes) + "-byte shard header (truncated)");
  }
  if (std::memcmp(in, kShardMagic, 8) != 0) {
    return Corruption(path + ": not an ogai checkpoint shard (bad magic at byte offset 0)");
  }
  const uint32_t version = GetU32(in + 8);
  if (version > kFormatVersion) {
    return NotSupported(path + ": shard format version " + std::to_string(version) +
                        " is newer than this ogai reads (" + std::to_string(kFormatVersion) + "); use a newer ogai");
  }
  if (GetU32(in + 24) != Crc32c(in, 24)) {
    return Corruption(path + ": shard header fails its CRC-32C (byte offsets 0..27)");
  }
  h->rank = static_cast<int32_t>(GetU32(in + 12));
  h->step = static_cast<int64_t>(GetU64(in + 16));
  return Status::Ok();
}

Status WriteManifest(const std::string& step_dir, const pb::Manifest& manifest) {
  pb::ManifestFile env;
  env.set_format_version(kFormatVersion);
  if (!manifest.SerializeToString(env.mutable_manifest())) {
    return Internal("cannot serialize the manifest for " + step_dir);
  }
  env.set_manifest_crc32c(Crc32c(env.manifest().data(), env.manifest().size()));
  std::string bytes;
  if (!env.SerializeToString(&bytes)) return Internal("cannot serialize the manifest envelope");
  return PublishFile(step_dir, kManifestName, bytes);
}

Result<pb::Manifest> ReadManifest(const std::string& step_dir) {
  const std::string path = JoinPath(step_dir, kManifestName);
  auto bytes = ReadSmallFile(path);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) {
      return NotFound(step_dir + " is not a committed checkpoint (no " + kManifestName +
                      "); it was never finished or is being written");
    }
    return bytes.status();
  }
  pb::ManifestFile env;
  if (!env.ParseFromString(*bytes)) {
    return Corruption(path + ": cannot parse the manifest envelope (damaged file)");
  }
  if (env.format_version() == 0) {
    return Corruption(path + ": manifest has no format version (damaged or not an ogai manifest)");
  }
  if (env.format_version() > kFormatVersion) {
    return NotSupported(path + ": manifest format version " + std::to_string(env.format_version()) +
                        " is newer than this ogai reads (" + std::to_string(kFormatVersion) + "); use a newer ogai");
  }
  const uint32_t crc = Crc32c(env.manifest().data(), env.manifest().size());
  if (crc != env.manifest_crc32c()) {
    return Corruption(path + ": manifest fails its CRC-32C (damaged file)");
  }
  pb::Manifest m;
  if (!m.ParseFromString(env.manifest())) {
    return Corruption(path + ": cannot parse the manifest (damaged file)");
  }
  // Only the names a writer makes: a crafted manifest must not open ../../etc/hostname.
  for (const auto& f : m.files()) {
    if (!IsShardFileName(f.name())) {
      return Corruption(path + ": lists a shard file named '" + f.name().substr(0, 64) +
                        "', which no writer makes (rank_NNNNN.shard); the manifest is crafted or damaged");
    }
  }
  return m;
}

Status WriteLatest(const std::string& dir, const std::string& step_dir_name) {
  return PublishFile(dir, kLatestName, step_dir_name + "\n");
}

Result<std::string> ReadLatest(const std::string& dir) {
  OGAI_ASSIGN_OR_RETURN(std::string s, ReadSmallFile(JoinPath(dir, kLatestName)));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  if (ParseStepDirName(s) < 0 || s.find('/') != std::string::npos) {
    return Corruption(JoinPath(dir, kLatestName) + " does not name a step directory (holds '" + s.substr(0, 64) + "')");
  }
  return s;
}

Result<std::vector<CheckpointEntry>> ListCheckpoints(const std::string& dir) {
  std::vector<CheckpointEntry> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  if (!fs::is_directory(dir, ec)) return InvalidArgument(dir + " is not a directory");
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    if (!de.is_directory(ec)) continue;
    const std::string name = de.path().filename().string();
    const int64_t step = ParseStepDirName(name);
    if (step < 0) continue;
    CheckpointEntry e;
    e.step = step;
    e.path = JoinPath(dir, name);
    e.committed = fs::exists(JoinPath(e.path, kManifestName), ec);
    for (const auto& f : fs::directory_iterator(e.path, ec)) {
      if (f.is_regular_file(ec)) e.bytes += static_cast<int64_t>(f.file_size(ec));
    }
    out.push_back(std::move(e));
  }
  if (ec) return ErrnoError("listing " + dir, ec.value());
  std::sort(out.begin(), out.end(), [](const CheckpointEntry& a, const CheckpointEntry& b) { return a.step < b.step; });
  return out;
}

Status RemoveCheckpoint(const std::string& step_dir) {
  const std::string manifest = JoinPath(step_dir, kManifestName);
  if (::unlink(manifest.c_str()) == 0) {
    OGAI_RETURN_IF_ERROR(FsyncPath(step_dir));
  } else if (errno != ENOENT) {
    return ErrnoError("cannot remove " + manifest, errno);
  }
  std::error_code ec;
  fs::remove_all(step_dir, ec);
  if (ec) return ErrnoError("cannot remove " + step_dir, ec.value());
  return Status::Ok();
}

Status FsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open " + path + " to fsync it", errno);
  Status st;
  if (::fsync(fd) != 0) st = ErrnoError("fsync " + path, errno);
  ::close(fd);
  return st;
}

Status PreadExact(int fd, void* data, size_t n, uint64_t offset, const std::string& path) {
  uint8_t* p = static_cast<uint8_t*>(data);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, p + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("reading " + path + " at byte offset " + std::to_string(offset + done), errno);
    }
    if (r == 0) {
      return Corruption(path + ": truncated: needs bytes [" + std::to_string(offset) + ", " +
                        std::to_string(offset + n) + ") but ends at byte offset " + std::to_string(offset + done));
    }
    done += static_cast<size_t>(r);
  }
  return Status::Ok();
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return ErrnoError("cannot create directory " + path, ec.value());
  return Status::Ok();
}

std::string JoinPath(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (a.back() == '/') return a + b;
  return a + "/" + b;
}

}  // namespace ogai::ckpt
