// Sgemm: the one dense matrix multiply every linear layer goes through.
//
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C      (row-major; op = transpose or not)
//
// Backends (chosen by measurement, see docs/kernels.md):
//   onednn   — oneDNN's dnnl_sgemm, threaded by oneDNN: the fastest library on this project's
//              reference CPU (AVX-512) at the GPT shapes, and it threads with OpenMP like ogai's
//              own kernels, so no two thread pools spin against each other.
//   onednn-panels — the default: the same kernels, threaded by ogai: C is cut into panels along its longer
//              side (bounds fixed by the shape, PanelsFor) and each thread runs single-threaded
//              dnnl_sgemm on one panel at a time; results do not depend on the thread count.
//   openblas — OpenBLAS, loaded at first use with dlopen after setting OPENBLAS_CORETYPE for
//              CPUs that OpenBLAS 0.3.21 does not recognise (it would otherwise fall back to a
//              generic kernel 4-5x slower); OpenBLAS keeps its own pthread pool.
// OGAI_GEMM=onednn|onednn-panels|openblas selects one at start-up; SetGemmBackend switches at run time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"

namespace ogai::kernels {

enum class GemmBackend { kOneDnn, kOneDnnPanels, kOpenBlas };

// onednn-panels cuts the longer side of C (len) into `count` panels of `width` (the last one
// shorter): at least kGemmPanelMin wide, at most kGemmPanelsMax of them.
constexpr int64_t kGemmPanelMin = 384;
constexpr int64_t kGemmPanelsMax = 8;
struct GemmPanels {
  int64_t count = 1, width = 0;
};
GemmPanels PanelsFor(int64_t len);

void Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Sgemm, then `then(r0, r1, c0, c1)` on blocks of C that cover it once (rows [r0, r1), columns
// [c0, c1)): element-wise work that follows the product (a bias, GELU). With onednn-panels each
// block is a panel, done by the thread that computed it right after its product, while it is
// still in cache; with the other backends the blocks run after the whole product, in parallel.
// `then` must give each element a result that does not depend on the blocking.
using GemmBlockFn = std::function<void(int64_t r0, int64_t r1, int64_t c0, int64_t c1)>;
void SgemmThen(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc, const GemmBlockFn& then);

// The same product on oneDNN's SGEMM kernels, for callers that are already inside an OpenMP
// parallel region and multiply small tiles (blocked attention): it runs on the calling thread
// (oneDNN does not start threads inside a parallel region), whatever the backend, and adds no
// profiler scope (the caller's phase counts the time).
void SgemmTile(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// "onednn", "onednn-panels" or "openblas". Loads OpenBLAS when asked for it; an error if it cannot.
Status SetGemmBackend(const std::string& name);
GemmBackend GetGemmBackend();
// The name SetGemmBackend takes for the current backend.
std::string GemmBackendName();
// Name plus detail, e.g. "openblas (core SkylakeX, 2 threads)".
std::string GemmBackendDescription();
// Applies OGAI_GEMM from the environment (called once by the runtime at start-up).
Status ApplyGemmBackendFromEnv();

// Threads the kernels use (OpenMP; honours OMP_NUM_THREADS).
int KernelThreads();

}  // namespace ogai::kernels
