// The 1F1B pipeline schedule (PipeDream-Flush / Megatron's non-interleaved schedule).
//
// Stage s of P runs min(P - s - 1, m) warm-up forwards, then alternates one forward and
// one backward until all m forwards are done, then the remaining backwards. At most
// P - s micro-batches are in flight on stage s, so activation memory is bounded by the
// pipeline depth, not by m. The idle time per stage is (P - 1) forward+backward slots,
// hence the bubble fraction (P - 1) / m of the ideal step time.
#pragma once

#include <vector>

namespace ogai::parallel {

struct PipeOp {
  enum Kind { kForward, kBackward } kind;
  int micro;
  bool operator==(const PipeOp& o) const { return kind == o.kind && micro == o.micro; }
};

std::vector<PipeOp> OneFOneB(int stage, int stages, int micro_batches);

// Largest number of micro-batches alive (forwarded, not yet backwarded) on the stage.
int MaxInFlight(const std::vector<PipeOp>& ops);

}  // namespace ogai::parallel
