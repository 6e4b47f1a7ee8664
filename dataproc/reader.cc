#include "dataproc/reader.h"

#include <glob.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

namespace ogai::data {
namespace fs = std::filesystem;
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class PlainStream : public ByteStream {
 public:
  explicit PlainStream(FILE* f) : f_(f) {}
  ~PlainStream() override { std::fclose(f_); }
  Result<size_t> Read(char* buf, size_t n) override {
    const size_t k = std::fread(buf, 1, n, f_);
    if (k == 0 && std::ferror(f_)) return IoError("read error");
    raw_ += static_cast<int64_t>(k);
    return k;
  }
  int64_t raw_bytes() const override { return raw_; }

 private:
  FILE* f_;
  int64_t raw_ = 0;
};

class GzStream : public ByteStream {
 public:
  GzStream(gzFile g, std::string path) : g_(g), path_(std::move(path)) {}
  ~GzStream() override { gzclose(g_); }
  Result<size_t> Read(char* buf, size_t n) override {
    const int k = gzread(g_, buf, static_cast<unsigned>(n));
    int err = Z_OK;
    const char* msg = gzerror(g_, &err);
    if (k < 0 || (err != Z_OK && err != Z_STREAM_END)) {
      return Corruption("'" + path_ + "': gzip data is damaged or truncated (" + std::string(msg) +
                        "); re-download or re-compress it, or remove it from input.paths");
    }
    return static_cast<size_t>(k);
  }
  int64_t raw_bytes() const override { return static_cast<int64_t>(gzoffset(g_)); }

 private:
  gzFile g_;
  std::string path_;
};

class ZstdStream : public ByteStream {
 public:
  ZstdStream(FILE* f, std::string path) : f_(f), path_(std::move(path)), dctx_(ZSTD_createDCtx()) {
    in_.resize(ZSTD_DStreamInSize());
  }
  ~ZstdStream() override {
    ZSTD_freeDCtx(dctx_);
    std::fclose(f_);
  }
  Result<size_t> Read(char* buf, size_t n) override {
    ZSTD_outBuffer out{buf, n, 0};
    while (out.pos == 0) {
      if (ib_.pos == ib_.size) {
        const size_t k = std::fread(in_.data(), 1, in_.size(), f_);
        raw_ += static_cast<int64_t>(k);
        if (k == 0) {
          if (last_ != 0) {
            return Corruption("'" + path_ +
                              "': zstd data ends inside a frame (truncated); re-download or re-compress it, or "
                              "remove it from input.paths");
          }
          return size_t{0};
        }
        ib_ = ZSTD_inBuffer{in_.data(), k, 0};
      }
      last_ = ZSTD_decompressStream(dctx_, &out, &ib_);
      if (ZSTD_isError(last_)) {
        return Corruption("'" + path_ + "': zstd data is damaged (" + ZSTD_getErrorName(last_) +
                          "); re-download or re-compress it, or remove it from input.paths");
      }
    }
    return out.pos;
  }
  int64_t raw_bytes() const override { return raw_; }

 private:
  FILE* f_;
  std::string path_;
  ZSTD_DCtx* dctx_;
  std::vector<char> in_;
  ZSTD_inBuffer ib_{nullptr, 0, 0};
  size_t last_ = 0;
  int64_t raw_ = 0;
};

Status AddFile(const fs::path& p, std::set<std::string>* out) {
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    fs::recursive_directory_iterator it(p, ec), end;
    if (ec) return IoError("cannot read folder '" + p.string() + "' (" + ec.message() + "); check its permissions");
    for (; it != end; it.increment(ec)) {
      if (ec) return IoError("cannot read below '" + p.string() + "' (" + ec.message() + "); check permissions");
      if (it->is_regular_file(ec)) out->insert(it->path().string());
    }
    return Status::Ok();
  }
  if (!fs::exists(p, ec)) {
    return NotFound("input.paths: '" + p.string() + "' does not exist; fix the path or remove it");
  }
  out->insert(p.string());
  return Status::Ok();
}

}  // namespace

Result<std::vector<InputFile>> ExpandInputs(const std::vector<std::string>& paths) {
  std::set<std::string> files;
  for (const auto& p : paths) {
    if (p.find_first_of("*?[") != std::string::npos) {
      glob_t g{};
      const int rc = ::glob(p.c_str(), 0, nullptr, &g);
      if (rc == GLOB_NOMATCH) {
        globfree(&g);
        return NotFound("input.paths: the pattern '" + p + "' matches no file; fix it or remove it");
      }
      if (rc != 0) {
        globfree(&g);
        return IoError("input.paths: cannot expand '" + p + "' (a folder on the way is unreadable?)");
      }
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        Status st = AddFile(g.gl_pathv[i], &files);
        if (!st.ok()) {
          globfree(&g);
          return st;
        }
      }
      globfree(&g);
    } else {
      OGAI_RETURN_IF_ERROR(AddFile(p, &files));
    }
  }
  if (files.empty()) return NotFound("input.paths names no files (empty folders?); give files with text");
  std::vector<InputFile> out;
  for (const auto& f : files) {
    std::error_code ec;
    const auto size = fs::file_size(f, ec);
    out.push_back({f, ec ? 0 : static_cast<int64_t>(size)});
  }
  return out;
}

Result<std::unique_ptr<ByteStream>> ByteStream::Open(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return ErrnoError("cannot open input '" + path + "'", errno);
  if (EndsWith(path, ".gz")) {
    std::fclose(f);
    gzFile g = gzopen(path.c_str(), "rb");
    if (g == nullptr) return ErrnoError("cannot open input '" + path + "'", errno);
    gzbuffer(g, 1 << 17);
    return std::unique_ptr<ByteStream>(new GzStream(g, path));
  }
  if (EndsWith(path, ".zst")) return std::unique_ptr<ByteStream>(new ZstdStream(f, path));
  return std::unique_ptr<ByteStream>(new PlainStream(f));
}

Result<std::unique_ptr<DocReader>> DocReader::Open(const std::string& path, const InputConfig& cfg) {
  std::unique_ptr<DocReader> r(new DocReader());
  r->path_ = path;
  r->cfg_ = cfg;
  std::string base = path;
  for (const char* z : {".gz", ".zst"})
    if (EndsWith(base, z)) base.resize(base.size() - std::strlen(z));
  r->jsonl_ = cfg.format == "jsonl" || (cfg.format == "auto" && (EndsWith(base, ".jsonl") || EndsWith(base, ".json")));
  OGAI_ASSIGN_OR_RETURN(r->in_, ByteStream::Open(path));
  return r;
}

Result<bool> DocReader::NextLine(std::string* line) {
  line->clear();
  while (true) {
    const size_t nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      line->append(buf_, pos_, nl - pos_);
      pos_ = nl + 1;
      ++line_no_;
      return true;
    }
    line->append(buf_, pos_, std::string::npos);
    buf_.clear();
    pos_ = 0;
    if (eof_) {
      if (line->empty()) return false;
      ++line_no_;
      return true;
    }
    buf_.resize(1 << 16);
    OGAI_ASSIGN_OR_RETURN(size_t k, in_->Read(buf_.data(), buf_.size()));
    buf_.resize(k);
    if (k == 0) eof_ = true;
    if (offset_ < (1 << 16) && std::memchr(buf_.data(), '\0', k) != nullptr) {
      return InvalidArgument("'" + path_ + "' looks binary (a NUL byte in its first " + std::to_string(offset_ + k) +
                             " bytes); remove it from input.paths or give a text file");
    }
    offset_ += static_cast<int64_t>(k);
  }
}

Result<bool> DocReader::Next(std::string* doc) {
  doc->clear();
  std::string line;
  if (jsonl_) {
    while (true) {
      OGAI_ASSIGN_OR_RETURN(bool more, NextLine(&line));
      if (!more) return false;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        return InvalidArgument(
            "'" + path_ + "' line " + std::to_string(line_no_) +
            " is not a JSON object; JSON Lines need one object per line (or set input.format: text)");
      }
      auto it = j.find(cfg_.jsonl_field);
      if (it == j.end() || !it->is_string()) {
        return InvalidArgument("'" + path_ + "' line " + std::to_string(line_no_) + " has no string field '" +
                               cfg_.jsonl_field + "'; set input.jsonl_field to the field with the text");
      }
      *doc = it->get<std::string>();
      return true;
    }
  }
  const bool whole = cfg_.text_split == "file";
  bool any = false;
  while (true) {
    OGAI_ASSIGN_OR_RETURN(bool more, NextLine(&line));
    if (!more) return any;
    const bool blank = line.find_first_not_of(" \t\r") == std::string::npos;
    if (!whole && blank) {
      if (any) return true;
      continue;
    }
    if (any) doc->push_back('\n');
    doc->append(line);
    any = true;
  }
}

}  // namespace ogai::data
