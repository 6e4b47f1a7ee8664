// Scratch sizes of the CUDA kernels' fixed-order reductions, in elements. Plain C++ with no
// CUDA dependency: the device arena plan (train/device_arena.h) sizes its scratch region from
// these on any build, and the kernels take their chunk sizes from the same constants.
#pragma once

#include <cstdint>

namespace ogai::kernels::cuda {

inline constexpr int64_t kLayerNormRowsPerChunk = 64;           // rows per partial sum of dw/db
inline constexpr int64_t kBiasRowsPerChunk = 128;               // rows per partial column sum
inline constexpr int kGradNormBlocks = 512;                     // fixed grid of the sum of squares
inline constexpr int64_t kCublasLtWorkspaceBytes = 32ll << 20;  // gemm.h's workspace

// Floats for LayerNormBackward (n rows of c).
constexpr int64_t LayerNormBackwardScratch(int64_t n, int64_t c) {
  return (n + kLayerNormRowsPerChunk - 1) / kLayerNormRowsPerChunk * 2 * c;
}
// Floats for BiasBackward (dout [m, n]).
constexpr int64_t BiasBackwardScratch(int64_t m, int64_t n) {
  return (m + kBiasRowsPerChunk - 1) / kBiasRowsPerChunk * n;
}
// Floats for AttentionBackward (one per query row).
constexpr int64_t AttentionBackwardScratch(int64_t b, int64_t t, int64_t nh) { return b * nh * t; }
// Doubles for GradSumSquares.
constexpr int64_t GradSumSquaresScratch() { return kGradNormBlocks; }

}  // namespace ogai::kernels::cuda
