#include "ckpt/export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "ckpt/format.h"
#include "core/memory.h"

namespace ogai::ckpt {
namespace {

std::string JsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      o += buf;
    } else {
      o += c;
    }
  }
  return o;
}

}  // namespace

bool IsOptimizerTensor(const std::string& name) { return name.rfind("adamw.", 0) == 0; }

Result<int> ExportSafetensors(const Checkpoint& ck, const std::string& out, const ExportOptions& opts) {
  const pb::Manifest& m = ck.manifest();
  std::vector<const pb::Tensor*> tensors;
  for (const pb::Tensor& t : m.tensors()) {
    if (!opts.include_optimizer && IsOptimizerTensor(t.name())) continue;
    if (t.dtype() != pb::F32) return NotSupported("tensor '" + t.name() + "' has a dtype export does not handle");
    tensors.push_back(&t);
  }
  // Header.
  std::string json = "{\"__metadata__\":{\"format\":\"pt\",\"ogai_step\":\"" + std::to_string(m.step()) +
                     "\",\"ogai_checkpoint\":\"" + JsonEscape(ck.path()) + "\"}";
  uint64_t off = 0;
  for (const pb::Tensor* t : tensors) {
    uint64_t n = 1;
    std::string shape;
    for (int64_t d : t->shape()) {
      n *= static_cast<uint64_t>(d);
      shape += (shape.empty() ? "" : ",") + std::to_string(d);
    }
    json += ",\"" + JsonEscape(t->name()) + "\":{\"dtype\":\"F32\",\"shape\":[" + shape + "],\"data_offsets\":[" +
            std::to_string(off) + "," + std::to_string(off + n * 4) + "]}";
    off += n * 4;
  }
  json += "}";
  while (json.size() % 8 != 0) json += ' ';

  // A unique temp name beside OUT (mkstemp: created exclusively, never a link someone placed
  // at a predictable OUT.tmp), renamed over OUT when complete.
  std::string tmp = out + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return ErrnoError("cannot create a temp file beside " + out, errno);
  ::fchmod(fd, 0644);
  auto fail = [&](const Status& st) -> Status {
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  };
  uint8_t len[8];
  const uint64_t hl = json.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(hl >> (8 * i));
  if (Status st = WriteAllFd(fd, len, 8, tmp); !st.ok()) return fail(st);
  if (Status st = WriteAllFd(fd, json.data(), json.size(), tmp); !st.ok()) return fail(st);
  for (const pb::Tensor* t : tensors) {
    std::vector<int64_t> shape(t->shape().begin(), t->shape().end());
    ReadSlice s{t->name(), shape, Region::Whole(shape), nullptr};
    Buffer b(static_cast<size_t>(s.region.numel()) * 4, MemCategory::kOther);
    s.data = b.as<float>();
    if (Status st = ck.Read({s}); !st.ok()) return fail(st);
    if (Status st = WriteAllFd(fd, b.data(), b.size(), tmp); !st.ok()) return fail(st);
  }
  if (::fsync(fd) != 0) return fail(ErrnoError("fsync " + tmp, errno));
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return ErrnoError("close " + tmp, errno);
  }
  if (::rename(tmp.c_str(), out.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("cannot rename " + tmp + " to " + out, e);
  }
  return static_cast<int>(tensors.size());
}

}  // namespace ogai::ckpt
