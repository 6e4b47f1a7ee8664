#include <cstdlib>
#include <string>

#include "comm/ucx/algorithms.h"

namespace ogai::comm::ucx {

using detail::EnvBytes;

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
