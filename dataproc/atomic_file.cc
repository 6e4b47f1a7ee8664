#include "dataproc/atomic_file.h"

#include <unistd.h>

#include <cerrno>

namespace ogai::data {

Result<std::unique_ptr<AtomicFile>> AtomicFile::Create(const std::string& path, bool durable) {
  std::unique_ptr<AtomicFile> f(new AtomicFile());
  f->durable_ = durable;
  f->path_ = path;
  f->tmp_ = path + ".tmp." + std::to_string(::getpid());
  f->f_ = std::fopen(f->tmp_.c_str(), "wb");
  if (f->f_ == nullptr) return ErrnoError("cannot create '" + f->tmp_ + "' (is the output folder writable?)", errno);
  std::setvbuf(f->f_, nullptr, _IOFBF, 1 << 20);
  return f;
}

AtomicFile::~AtomicFile() {
  if (f_ != nullptr) {
    std::fclose(f_);
    ::unlink(tmp_.c_str());
  }
}

Status AtomicFile::Write(const void* data, size_t n) {
  if (n > 0 && std::fwrite(data, 1, n, f_) != n) return ErrnoError("writing " + tmp_, errno);
  return Status::Ok();
}

Status AtomicFile::Commit() {
  Status st;
  if (std::fflush(f_) != 0) st = ErrnoError("writing " + tmp_, errno);
  if (st.ok() && durable_ && ::fsync(::fileno(f_)) != 0) st = ErrnoError("fsync " + tmp_, errno);
  std::fclose(f_);
  f_ = nullptr;
  if (st.ok() && ::rename(tmp_.c_str(), path_.c_str()) != 0) st = ErrnoError("rename to " + path_, errno);
  if (!st.ok()) ::unlink(tmp_.c_str());
  return st;
}

Status WriteFileAtomic(const std::string& path, std::string_view data, bool durable) {
  OGAI_ASSIGN_OR_RETURN(auto f, AtomicFile::Create(path, durable));
  OGAI_RETURN_IF_ERROR(f->Write(data));
  return f->Commit();
}

}  // namespace ogai::data
