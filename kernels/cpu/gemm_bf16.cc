#include "kernels/cpu/gemm_bf16.h"

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "core/check.h"
#include "core/profile.h"

namespace ogai::kernels {
namespace {

using Key = std::tuple<bool, bool, int64_t, int64_t, int64_t, float, int64_t, int64_t, float, int64_t>;

struct Engine {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::mutex mu;
  std::map<Key, std::unique_ptr<dnnl::matmul>> cache;
};

Engine& E() {
  static Engine* e = new Engine();  // never destroyed: primitives may be used until exit
  return *e;
}

dnnl::memory::desc Desc(int64_t rows, int64_t cols, bool trans, int64_t ld, dnnl::memory::data_type dt) {
  // op(X) is rows x cols; X itself is stored row-major with leading dimension ld.
  const dnnl::memory::dims dims = {rows, cols};
  const dnnl::memory::dims strides = trans ? dnnl::memory::dims{1, ld} : dnnl::memory::dims{ld, 1};
  return dnnl::memory::desc(dims, dt, strides);
}

Result<dnnl::matmul*> Primitive(const Key& key) {
  Engine& e = E();
  std::lock_guard<std::mutex> lk(e.mu);
  auto it = e.cache.find(key);
  if (it != e.cache.end()) return it->second.get();
  const auto [ta, tb, m, n, k, alpha, lda, ldb, beta, ldc] = key;
  using dt = dnnl::memory::data_type;
  try {
    dnnl::primitive_attr attr;
    if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
    if (beta != 0.0f) {
      dnnl::post_ops ops;
      ops.append_sum(beta);
      attr.set_post_ops(ops);
    }
    const dnnl::matmul::desc d(Desc(m, k, ta, lda, dt::bf16), Desc(k, n, tb, ldb, dt::bf16),
                               Desc(m, n, false, ldc, dt::f32));
    const dnnl::matmul::primitive_desc pd(d, attr, e.engine);
    auto prim = std::make_unique<dnnl::matmul>(pd);
    dnnl::matmul* raw = prim.get();
    e.cache.emplace(key, std::move(prim));
    return raw;
  } catch (const dnnl::error& err) {
    return NotSupported(std::string("oneDNN cannot run a bf16 matmul on this CPU (") + err.what() +
                        "); use train.precision=fp32");
  }
}

}  // namespace

void ToBf16(bf16_t* dst, const float* src, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) dst[i] = RoundToBf16(src[i]);
}

float FromBf16(bf16_t x) {
  const uint32_t u = static_cast<uint32_t>(x) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

void GemmBf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const bf16_t* a, int64_t lda,
              const bf16_t* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  OGAI_PROFILE(kGemm);
  if (m == 0 || n == 0) return;
  auto prim = Primitive(Key{trans_a, trans_b, m, n, k, alpha, lda, ldb, beta, ldc});
  OGAI_CHECK(prim.ok());  // Bf16Available() was checked when bf16 was chosen
  Engine& e = E();
  using dt = dnnl::memory::data_type;
  dnnl::memory ma(Desc(m, k, trans_a, lda, dt::bf16), e.engine, const_cast<bf16_t*>(a));
  dnnl::memory mb(Desc(k, n, trans_b, ldb, dt::bf16), e.engine, const_cast<bf16_t*>(b));
  dnnl::memory mc(Desc(m, n, false, ldc, dt::f32), e.engine, c);
  (*prim)->execute(e.stream, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}});
  e.stream.wait();
}

Status Bf16Available() { return Primitive(Key{false, true, 16, 16, 16, 1.0f, 16, 16, 0.0f, 16}).status(); }

std::string Bf16Hardware() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("amx-bf16")) return "amx";
  if (__builtin_cpu_supports("avx512bf16")) return "avx512_bf16";
  return "emulated (no AVX512-BF16)";
}

bf16_t* Bf16Scratch(int slot, int64_t n) {
  OGAI_CHECK(slot >= 0 && slot < 4);
  thread_local std::vector<bf16_t> scratch[4];
  if (static_cast<int64_t>(scratch[slot].size()) < n) scratch[slot].resize(static_cast<size_t>(n));
  return scratch[slot].data();
}

}  // namespace ogai::kernels
