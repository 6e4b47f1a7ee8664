#include "parallel/schedule.h"

#include <algorithm>

namespace ogai::parallel {

std::vector<PipeOp> OneFOneB(int stage, int stages, int m) {
  std::vector<PipeOp> ops;
  const int warmup = std::min(stages - stage - 1, m);
  int f = 0, b = 0;
  for (; f < warmup; ++f) ops.push_back({PipeOp::kForward, f});
  while (f < m) {
    ops.push_back({PipeOp::kForward, f++});
    ops.push_back({PipeOp::kBackward, b++});
  }
  while (b < m) ops.push_back({PipeOp::kBackward, b++});
  return ops;
}

int MaxInFlight(const std::vector<PipeOp>& ops) {
  int alive = 0, most = 0;
  for (const auto& op : ops) {
    alive += op.kind == PipeOp::kForward ? 1 : -1;
    most = std::max(most, alive);
  }
  return most;
}

}  // namespace ogai::parallel
