// The SaveMeta of a one-rank job (world 1, dp = tp = pp = 1): what the crafted-file tests
// and the checkpoint fuzzer save their small checkpoint with. Header-only, so that the fuzzer
// (built apart, with clang and ASan) needs no test library.
#pragma once

#include <cstdint>

#include "ckpt/writer.h"

namespace ogai::ckpt::testing {

inline SaveMeta OneRankMeta(int64_t step, int64_t global_batch) {
  SaveMeta m;
  m.step = step;
  m.global_batch = global_batch;
  m.layout.set_world_size(1);
  m.layout.set_dp(1);
  m.layout.set_tp(1);
  m.layout.set_pp(1);
  return m;
}

}  // namespace ogai::ckpt::testing
