#include "registry/blobs.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include <openssl/evp.h>

#include "ckpt/format.h"
#include "core/file_io.h"

namespace ogai::registry {

namespace fs = std::filesystem;

std::string Sha256Hex(const void* data, size_t n) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data, n, md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string BlobStore::PathOf(const std::string& hash) const {
  return root_ + "/blobs/" + hash.substr(0, 2) + "/" + hash;
}

Result<std::string> BlobStore::PutFile(const std::string& path) {
  OGAI_ASSIGN_OR_RETURN(const std::string bytes, ReadFile(path));
  const std::string h = Sha256Hex(bytes.data(), bytes.size());
  bool written = false;
  OGAI_RETURN_IF_ERROR(Put(h, bytes.data(), bytes.size(), &written));
  return h;
}

Status BlobStore::Put(const std::string& hash, const void* data, size_t n, bool* written) {
  *written = false;
  const std::string final_path = PathOf(hash);
  if (::access(final_path.c_str(), F_OK) == 0) return Status::Ok();
  const std::string dir = root_ + "/blobs/" + hash.substr(0, 2);
  OGAI_RETURN_IF_ERROR(ckpt::MakeDirs(dir));
  OGAI_RETURN_IF_ERROR(ckpt::MakeDirs(root_ + "/tmp"));
  static std::atomic<int> counter{0};
  const std::string tmp =
      root_ + "/tmp/" + hash.substr(0, 16) + "." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
  if (fd < 0) return ErrnoError("cannot create " + tmp + " (is the registry root writable?)", errno);
  Status st = WriteAllFd(fd, data, n, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = ErrnoError("fsync " + tmp, errno);
  if (::close(fd) != 0 && st.ok()) st = ErrnoError("close " + tmp, errno);
  // Another process may have stored the same blob meanwhile: rename replaces it with the
  // same bytes, which is harmless.
  if (st.ok() && ::rename(tmp.c_str(), final_path.c_str()) != 0) st = ErrnoError("rename " + tmp, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  OGAI_RETURN_IF_ERROR(ckpt::FsyncPath(dir));
  *written = true;
  return Status::Ok();
}

Result<std::string> BlobStore::Get(const std::string& hash) const {
  const std::string p = PathOf(hash);
  auto bytes = ReadFile(p);
  if (!bytes.ok() && bytes.status().code() == Code::kNotFound) {
    return NotFound("blob " + p + " is missing; the registry is damaged (was a file removed by hand?)");
  }
  if (!bytes.ok()) return bytes.status();
  const std::string got = Sha256Hex(bytes->data(), bytes->size());
  if (got != hash) return Corruption("blob " + p + " is damaged: its SHA-256 is " + got);
  return bytes;
}

Result<std::vector<std::string>> BlobStore::List() const {
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path dir = root_ + "/blobs";
  if (!fs::exists(dir, ec)) return out;
  for (const auto& sub : fs::directory_iterator(dir, ec)) {
    if (!sub.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(sub.path(), ec)) out.push_back(f.path().filename().string());
  }
  if (ec) return IoError("cannot list " + dir.string() + ": " + ec.message());
  return out;
}

Result<std::vector<std::string>> BlobStore::TempFiles() const {
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path dir = root_ + "/tmp";
  if (!fs::exists(dir, ec)) return out;
  for (const auto& f : fs::directory_iterator(dir, ec)) out.push_back(f.path().string());
  if (ec) return IoError("cannot list " + dir.string() + ": " + ec.message());
  return out;
}

Status BlobStore::Remove(const std::string& hash) {
  const std::string p = PathOf(hash);
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) return ErrnoError("cannot remove " + p, errno);
  return Status::Ok();
}

}  // namespace ogai::registry
