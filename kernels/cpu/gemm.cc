#include "kernels/cpu/gemm.h"

#include <dlfcn.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <oneapi/dnnl/dnnl.h>

#include "core/clock.h"
#include "core/knobs.h"
#include "core/profile.h"
#include "kernels/cpu/gemm_tally.h"

namespace ogai::kernels {
namespace {

// The cblas entry points we use, resolved from libopenblas at run time.
enum CblasOrder { kRowMajor = 101 };
enum CblasTrans { kNoTrans = 111, kTrans = 112 };
using CblasSgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                              int);
using OpenblasCoreFn = char* (*)();
using OpenblasThreadsFn = int (*)();

struct OpenBlas {
  void* handle = nullptr;
  CblasSgemmFn sgemm = nullptr;
  std::string core;
  int threads = 0;
};

std::atomic<GemmBackend> g_backend{GemmBackend::kOneDnnPanels};  // the default (docs/kernels.md)
std::mutex g_load_mu;
OpenBlas g_openblas;

// OpenBLAS 0.3.21 predates Zen 4 and some AVX-512 parts and picks its generic kernel for
// them. Its SkylakeX kernel is correct on any CPU with AVX-512F/BW/DQ/VL.
bool CpuHasAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

Status LoadOpenBlas() {
  std::lock_guard<std::mutex> lk(g_load_mu);
  if (g_openblas.handle != nullptr) return Status::Ok();
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr) {
    if (CpuHasAvx512()) {
      setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
    } else if (__builtin_cpu_supports("avx2")) {
      setenv("OPENBLAS_CORETYPE", "Haswell", 0);
    }
  }
  for (const char* name : {"libopenblas.so.0", "libopenblas.so"}) {
    g_openblas.handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (g_openblas.handle != nullptr) break;
  }
  if (g_openblas.handle == nullptr) {
    return NotFound(std::string("cannot load OpenBLAS (") + dlerror() +
                    "); install libopenblas0 or use OGAI_GEMM=onednn");
  }
  g_openblas.sgemm = reinterpret_cast<CblasSgemmFn>(dlsym(g_openblas.handle, "cblas_sgemm"));
  auto core = reinterpret_cast<OpenblasCoreFn>(dlsym(g_openblas.handle, "openblas_get_corename"));
  auto threads = reinterpret_cast<OpenblasThreadsFn>(dlsym(g_openblas.handle, "openblas_get_num_threads"));
  if (g_openblas.sgemm == nullptr) {
    dlclose(g_openblas.handle);
    g_openblas.handle = nullptr;
    return NotFound("the loaded OpenBLAS has no cblas_sgemm; use OGAI_GEMM=onednn");
  }
  g_openblas.core = core ? core() : "?";
  g_openblas.threads = threads ? threads() : 0;
  return Status::Ok();
}

// onednn-panels: C is cut along its longer side into panels whose bounds depend only on the
// shape; each panel is one single-threaded dnnl_sgemm (oneDNN runs on the calling thread inside
// a parallel region), and the threads take panels in turn. Every element of C is then computed
// by one call whose shape does not depend on the thread count, so the bits do not either.
void SgemmPanels(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float beta, float* c, int64_t ldc, const GemmBlockFn* then) {
  const bool cut_n = n >= m;
  const int64_t len = cut_n ? n : m;
  const GemmPanels p = PanelsFor(len);
  const char ta = trans_a ? 'T' : 'N', tb = trans_b ? 'T' : 'N';
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < p.count; ++i) {
    const int64_t lo = i * p.width, w = std::min(p.width, len - lo);
    if (cut_n) {  // columns lo..lo+w of op(B) and C
      dnnl_sgemm(ta, tb, m, w, k, alpha, a, lda, trans_b ? b + lo * ldb : b + lo, ldb, beta, c + lo, ldc);
      if (then != nullptr) (*then)(0, m, lo, lo + w);
    } else {  // rows lo..lo+w of op(A) and C
      dnnl_sgemm(ta, tb, w, n, k, alpha, trans_a ? a + lo : a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc);
      if (then != nullptr) (*then)(lo, lo + w, 0, n);
    }
  }
}

void SgemmLibrary(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (g_backend.load(std::memory_order_relaxed) == GemmBackend::kOpenBlas) {
    g_openblas.sgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, static_cast<int>(m),
                     static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
                     static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
    return;
  }
  dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// With the profiler on, the call's time goes to the shape tally (gemm_tally.h) as well.
class ShapeScope {
 public:
  ShapeScope(bool ta, bool tb, int64_t m, int64_t n, int64_t k, bool fused)
      : on_(profile::Enabled()), ta_(ta), tb_(tb), fused_(fused), m_(m), n_(n), k_(k), t0_(on_ ? Now() : 0.0) {}
  ~ShapeScope() {
    if (on_) RecordGemmShape(ta_, tb_, m_, n_, k_, fused_, Now() - t0_);
  }
  ShapeScope(const ShapeScope&) = delete;
  ShapeScope& operator=(const ShapeScope&) = delete;

 private:
  bool on_, ta_, tb_, fused_;
  int64_t m_, n_, k_;
  double t0_;
};

}  // namespace

GemmPanels PanelsFor(int64_t len) {
  GemmPanels p;
  p.count = std::clamp<int64_t>((len + kGemmPanelMin - 1) / kGemmPanelMin, 1, kGemmPanelsMax);
  p.width = (len + p.count - 1) / p.count;
  p.width = (p.width + 15) / 16 * 16;  // whole 64-byte lines
  p.count = (len + p.width - 1) / p.width;
  return p;
}

void Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  OGAI_PROFILE(kGemm);
  const ShapeScope shape(trans_a, trans_b, m, n, k, false);
  if (m == 0 || n == 0) return;
  if (g_backend.load(std::memory_order_relaxed) == GemmBackend::kOneDnnPanels) {
    SgemmPanels(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nullptr);
    return;
  }
  SgemmLibrary(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void SgemmThen(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc, const GemmBlockFn& then) {
  OGAI_PROFILE(kGemm);
  const ShapeScope shape(trans_a, trans_b, m, n, k, true);
  if (m == 0 || n == 0) return;
  if (g_backend.load(std::memory_order_relaxed) == GemmBackend::kOneDnnPanels) {
    SgemmPanels(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, &then);
    return;
  }
  SgemmLibrary(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  constexpr int64_t kRows = 16;
  const int64_t blocks = (m + kRows - 1) / kRows;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < blocks; ++i) then(i * kRows, std::min(m, (i + 1) * kRows), 0, n);
}

void SgemmTile(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

Status SetGemmBackend(const std::string& name) {
  if (name == "onednn" || name == "dnnl") {
    g_backend = GemmBackend::kOneDnn;
    return Status::Ok();
  }
  if (name == "onednn-panels") {
    g_backend = GemmBackend::kOneDnnPanels;
    return Status::Ok();
  }
  if (name == "openblas") {
    OGAI_RETURN_IF_ERROR(LoadOpenBlas());
    g_backend = GemmBackend::kOpenBlas;
    return Status::Ok();
  }
  return InvalidArgument("unknown GEMM backend '" + name + "'; use onednn, onednn-panels or openblas");
}

GemmBackend GetGemmBackend() { return g_backend.load(); }

std::string GemmBackendName() {
  switch (g_backend.load()) {
    case GemmBackend::kOneDnnPanels: return "onednn-panels";
    case GemmBackend::kOpenBlas: return "openblas";
    case GemmBackend::kOneDnn: break;
  }
  return "onednn";
}

std::string GemmBackendDescription() {
  if (g_backend.load() == GemmBackend::kOpenBlas) {
    return "openblas (core " + g_openblas.core + ", " + std::to_string(g_openblas.threads) + " threads)";
  }
  if (g_backend.load() == GemmBackend::kOneDnnPanels) {
    return "onednn-panels (" + std::to_string(KernelThreads()) + " OpenMP threads)";
  }
  return "onednn (" + std::to_string(KernelThreads()) + " OpenMP threads)";
}

Status ApplyGemmBackendFromEnv() {
  const std::optional<std::string> v = KnobText("OGAI_GEMM");
  if (!v) return Status::Ok();
  return SetGemmBackend(*v).WithContext("OGAI_GEMM");
}

int KernelThreads() { return omp_get_max_threads(); }

}  // namespace ogai::kernels
