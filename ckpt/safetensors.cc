#include "ckpt/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "ckpt/format.h"
#include "core/file_io.h"

namespace ogai::ckpt {

namespace {

int DtypeBytes(const std::string& d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  return 0;
}

}  // namespace

int64_t SafetensorsEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const SafetensorsEntry* SafetensorsFile::Find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

Result<SafetensorsFile> ReadSafetensorsHeader(const std::string& path) {
  SafetensorsFile f;
  f.path = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open " + path, errno);
  struct stat sb {};
  ::fstat(fd, &sb);
  const uint64_t size = static_cast<uint64_t>(sb.st_size);
  auto bad = [&](const std::string& what) -> Status {
    ::close(fd);
    return Corruption(path + ": " + what);
  };
  if (size < 8) return bad("shorter than the 8-byte header length; not a safetensors file");
  uint8_t len[8];
  if (Status st = PreadExact(fd, len, 8, 0, path); !st.ok()) return bad(st.message());
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  if (n > size - 8) {
    return bad("the header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) +
               " bytes)");
  }
  std::string json(n, '\0');
  if (Status st = PreadExact(fd, json.data(), n, 8, path); !st.ok()) return bad(st.message());
  ::close(fd);
  f.data_start = 8 + n;
  const uint64_t data_len = size - f.data_start;
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    return Corruption(path + ": the header is not valid JSON (" + e.what() + ")");
  }
  if (!h.is_object()) return Corruption(path + ": the header is not a JSON object");
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) return Corruption(path + ": __metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) return Corruption(path + ": __metadata__ value '" + m.key() + "' is not a string");
        f.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const std::string where = path + ": tensor '" + it.key() + "'";
    const auto& v = *it;
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets") ||
        !v["dtype"].is_string() || !v["shape"].is_array() || !v["data_offsets"].is_array() ||
        v["data_offsets"].size() != 2) {
      return Corruption(where + ": needs \"dtype\", \"shape\" and \"data_offsets\": [begin, end]");
    }
    SafetensorsEntry t;
    t.name = it.key();
    t.dtype = v["dtype"].get<std::string>();
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) return Corruption(where + ": the shape holds a non-integer");
      t.shape.push_back(d.get<int64_t>());
    }
    if (!v["data_offsets"][0].is_number_unsigned() || !v["data_offsets"][1].is_number_unsigned()) {
      return Corruption(where + ": data_offsets are not non-negative integers");
    }
    t.begin = v["data_offsets"][0].get<uint64_t>();
    t.end = v["data_offsets"][1].get<uint64_t>();
    const int db = DtypeBytes(t.dtype);
    if (db == 0) return Corruption(where + ": unknown dtype " + t.dtype);
    if (t.end < t.begin || t.end - t.begin != static_cast<uint64_t>(t.numel()) * db) {
      return Corruption(where + ": data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                        ") do not hold " + std::to_string(t.numel()) + " " + t.dtype + " values");
    }
    if (t.end > data_len) {
      return Corruption(where + ": data_offsets end " + std::to_string(t.end) + " past the end of the data (" +
                        std::to_string(data_len) + " bytes)");
    }
    f.tensors.push_back(std::move(t));
  }
  std::sort(f.tensors.begin(), f.tensors.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) { return a.begin < b.begin; });
  uint64_t at = 0;
  for (const auto& t : f.tensors) {
    if (t.begin < at) return Corruption(path + ": tensor '" + t.name + "' overlaps the tensor before it");
    if (t.begin > at) {
      return Corruption(path + ": a hole of " + std::to_string(t.begin - at) + " bytes before tensor '" + t.name + "'");
    }
    at = t.end;
  }
  if (at != data_len) {
    return Corruption(path + ": " + std::to_string(data_len - at) + " bytes after the last tensor belong to none");
  }
  return f;
}

Result<std::vector<float>> ReadSafetensorsF32(const SafetensorsFile& f, const SafetensorsEntry& t) {
  if (t.dtype != "F32") {
    return NotSupported(f.path + ": tensor '" + t.name + "' is " + t.dtype + "; only F32 is read (convert it first)");
  }
  std::vector<float> out(static_cast<size_t>(t.numel()));
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open " + f.path, errno);
  Status st = PreadExact(fd, out.data(), t.end - t.begin, f.data_start + t.begin, f.path);
  ::close(fd);
  if (!st.ok()) return st.WithContext("tensor '" + t.name + "'");
  return out;
}

Status WriteSafetensors(const std::string& path, const std::map<std::string, std::string>& metadata,
                        const std::vector<SafetensorsSpec>& tensors,
                        const std::function<Status(size_t, float*)>& fill) {
  nlohmann::ordered_json h;
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = m;
  }
  uint64_t off = 0;
  for (const auto& t : tensors) {
    uint64_t n = 1;
    for (int64_t d : t.shape) n *= static_cast<uint64_t>(d);
    h[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {off, off + n * 4}}};
    off += n * 4;
  }
  std::string json = h.dump();
  while (json.size() % 8 != 0) json += ' ';
  // A unique temp name beside PATH (mkstemp: created exclusively, never a link someone placed
  // at a predictable PATH.tmp), renamed over PATH when complete.
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return ErrnoError("cannot create a temp file beside " + path, errno);
  ::fchmod(fd, 0644);
  auto fail = [&](const Status& st) -> Status {
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  };
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(static_cast<uint64_t>(json.size()) >> (8 * i));
  if (Status st = WriteAllFd(fd, len, 8, tmp); !st.ok()) return fail(st);
  if (Status st = WriteAllFd(fd, json.data(), json.size(), tmp); !st.ok()) return fail(st);
  std::vector<float> buf;
  for (size_t i = 0; i < tensors.size(); ++i) {
    int64_t n = 1;
    for (int64_t d : tensors[i].shape) n *= d;
    buf.assign(static_cast<size_t>(n), 0.0f);
    if (Status st = fill(i, buf.data()); !st.ok()) return fail(st);
    if (Status st = WriteAllFd(fd, buf.data(), buf.size() * 4, tmp); !st.ok()) return fail(st);
  }
  if (::fsync(fd) != 0) return fail(ErrnoError("fsync " + tmp, errno));
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return ErrnoError("close " + tmp, errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("cannot rename " + tmp + " to " + path, e);
  }
  return Status::Ok();
}

}  // namespace ogai::ckpt
