// GEMM shape tally: the time of each fp32 SGEMM shape while the phase profiler is on
// (core/profile.h), so that `ogai-bench train --breakdown` can set each shape's rate inside the
// training step beside the same shape's rate alone (bench/gemm_peak.h). Sgemm and SgemmThen
// record themselves (SgemmThen as `fused`: its time includes the element-wise work after the
// product); SgemmTile (attention's tiles) and the bf16 GEMMs do not.
#pragma once

#include <cstdint>
#include <vector>

namespace ogai::kernels {

struct GemmShapeTime {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  bool fused = false;  // SgemmThen: the product and its element-wise work
  int64_t calls = 0;
  double seconds = 0;
};

// Adds one call. Thread-safe.
void RecordGemmShape(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, bool fused, double seconds);
// Everything recorded since the last reset, by shape (trans_a, trans_b, m, n, k, fused).
std::vector<GemmShapeTime> GemmShapeTimes();
void ResetGemmShapeTimes();

}  // namespace ogai::kernels
