#include <cstdlib>
#include <string>

#include "runtime/comm/ucx/algorithms.h"

namespace ogai::comm::ucx {

static size_t EnvBytes(const char* name, size_t def) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return def;
  char* end = nullptr;
  unsigned long long x = std::strtoull(v, &end, 10);
  if (end != nullptr && (*end == 'k' || *end == 'K')) x <<= 10;
  if (end != nullptr && (*end == 'm' || *end == 'M')) x <<= 20;
  return static_cast<size_t>(x);
}

AlgoTuning AlgoTuning::FromEnv() {
  AlgoTuning t;
  t.rd_max_bytes = EnvBytes("OGAI_UCX_RD_MAX_BYTES", t.rd_max_bytes);
  t.segment_bytes = std::max<size_t>(4096, EnvBytes("OGAI_UCX_SEGMENT_BYTES", t.segment_bytes));
  t.window = static_cast<int>(std::max<size_t>(1, EnvBytes("OGAI_UCX_WINDOW", static_cast<size_t>(t.window))));
  t.bcast_chain_min_bytes = EnvBytes("OGAI_UCX_BCAST_CHAIN_MIN_BYTES", t.bcast_chain_min_bytes);
  return t;
}

char* Scratch::Get(size_t bytes) {
  if (buf_.size() < bytes) buf_ = Buffer(bytes, MemCategory::kComm);
  return static_cast<char*>(buf_.data());
}

}  // namespace ogai::comm::ucx
