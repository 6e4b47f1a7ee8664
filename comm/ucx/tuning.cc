#include <cstdlib>
#include <string>

#include "comm/ucx/algorithms.h"
#include "core/knobs.h"

namespace ogai::comm::ucx {

AlgoTuning AlgoTuning::FromEnv() {
  AlgoTuning t;
  t.rd_max_bytes = KnobSize("OGAI_UCX_RD_MAX_BYTES").value_or(t.rd_max_bytes);
  t.segment_bytes = std::max<size_t>(4096, KnobSize("OGAI_UCX_SEGMENT_BYTES").value_or(t.segment_bytes));
  t.window = static_cast<int>(std::max<size_t>(1, KnobSize("OGAI_UCX_WINDOW").value_or(static_cast<size_t>(t.window))));
  t.bcast_chain_min_bytes = KnobSize("OGAI_UCX_BCAST_CHAIN_MIN_BYTES").value_or(t.bcast_chain_min_bytes);
  return t;
}

char* Scratch::Get(size_t bytes) {
  if (buf_.size() < bytes) buf_ = Buffer(bytes, MemCategory::kComm);
  return static_cast<char*>(buf_.data());
}

}  // namespace ogai::comm::ucx
