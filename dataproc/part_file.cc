#include "dataproc/part_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace ogai::data {

Result<std::unique_ptr<PartWriter>> PartWriter::Create(const std::string& path, int bands, int sig_size) {
  std::unique_ptr<PartWriter> w(new PartWriter());
  OGAI_ASSIGN_OR_RETURN(w->f_, AtomicFile::Create(path, /*durable=*/false));  // scratch
  const uint32_t h[2] = {static_cast<uint32_t>(bands), static_cast<uint32_t>(sig_size)};
  OGAI_RETURN_IF_ERROR(w->f_->Write("OGAIPART", 8));
  OGAI_RETURN_IF_ERROR(w->f_->Write(h, sizeof h));
  return w;
}

Status PartWriter::Add(const PartRecord& r) {
  const uint32_t n = static_cast<uint32_t>(r.tokens.size());
  OGAI_RETURN_IF_ERROR(f_->Write(&r.hash, 8));
  OGAI_RETURN_IF_ERROR(f_->Write(&n, 4));
  OGAI_RETURN_IF_ERROR(f_->Write(r.bands.data(), r.bands.size() * 8));
  OGAI_RETURN_IF_ERROR(f_->Write(r.sig.data(), r.sig.size() * 4));
  return f_->Write(r.tokens.data(), r.tokens.size() * 4);
}

Result<std::unique_ptr<PartReader>> PartReader::Open(const std::string& path) {
  std::unique_ptr<PartReader> r(new PartReader());
  r->path_ = path;
  r->f_ = std::fopen(path.c_str(), "rb");
  if (r->f_ == nullptr) return ErrnoError("cannot read part file '" + path + "'", errno);
  std::setvbuf(r->f_, nullptr, _IOFBF, 1 << 20);
  char magic[8];
  uint32_t h[2];
  if (std::fread(magic, 1, 8, r->f_) != 8 || std::memcmp(magic, "OGAIPART", 8) != 0 ||
      std::fread(h, 4, 2, r->f_) != 2) {
    return Corruption("'" + path + "' is not a part file of this run; remove the work folder and run again");
  }
  // The writer's sizes are bounded by data.yaml (dedup.bands <= 64, bands x rows <= 1024):
  // anything larger is not a file of this run, and must not size an allocation.
  if (h[0] > kMaxBands || h[1] > kMaxSignature) {
    return Corruption("'" + path + "' claims " + std::to_string(h[0]) + " bands and a signature of " +
                      std::to_string(h[1]) + " (at most " + std::to_string(kMaxBands) + " and " +
                      std::to_string(kMaxSignature) + "); remove the work folder and run again");
  }
  struct stat st {};
  if (::fstat(::fileno(r->f_), &st) != 0) return ErrnoError("cannot stat part file '" + path + "'", errno);
  r->size_ = static_cast<int64_t>(st.st_size);
  r->bands_ = h[0];
  r->sig_ = h[1];
  return r;
}

PartReader::~PartReader() {
  if (f_ != nullptr) std::fclose(f_);
}

Result<bool> PartReader::Next(PartRecord* r, bool want_tokens) {
  uint32_t n = 0;
  if (std::fread(&r->hash, 8, 1, f_) != 1) {
    if (std::feof(f_)) return false;
    return IoError("read error in '" + path_ + "'");
  }
  r->bands.resize(bands_);
  r->sig.resize(sig_);
  if (std::fread(&n, 4, 1, f_) != 1 || std::fread(r->bands.data(), 8, bands_, f_) != bands_ ||
      std::fread(r->sig.data(), 4, sig_, f_) != sig_) {
    return Corruption("'" + path_ + "' ends inside a record; remove the work folder and run again");
  }
  // A token count beyond what is left of the file is a damaged record, not an allocation to try.
  const int64_t left = size_ - static_cast<int64_t>(std::ftell(f_));
  if (static_cast<int64_t>(n) * 4 > left) {
    return Corruption("'" + path_ + "' has a record of " + std::to_string(n) + " tokens but only " +
                      std::to_string(left) + " bytes left; remove the work folder and run again");
  }
  if (want_tokens) {
    r->tokens.resize(n);
    if (std::fread(r->tokens.data(), 4, n, f_) != n) {
      return Corruption("'" + path_ + "' ends inside a record; remove the work folder and run again");
    }
  } else {
    r->tokens.clear();
    if (std::fseek(f_, static_cast<long>(n) * 4, SEEK_CUR) != 0) return IoError("seek in '" + path_ + "'");
  }
  return true;
}

}  // namespace ogai::data
