// Every CUDA kernel (kernels/cuda/) against its CPU twin (kernels/cpu/) on the same inputs,
// rounded to bf16 first so that both sides see the same numbers; tolerances are bf16's
// (8 bits of mantissa in what is stored). Plus determinism: a second run gives the same bits.
// Without a visible CUDA device every test skips, saying so.
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu/adamw.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/crossentropy.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/gelu.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cuda/adamw.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/bias_grad.h"
#include "kernels/cuda/crossentropy.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/gelu.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/layernorm.h"

namespace ogai::kernels {
namespace {

using cuda::bf16;
using FVec = std::vector<float>;

// Random values already representable in bf16.
FVec Rand(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  FVec v(n);
  for (auto& x : v) x = __bfloat162float(__float2bfloat16_rn(d(g)));
  return v;
}

// A device allocation freed at scope exit.
template <typename T>
class Dev {
 public:
  explicit Dev(size_t n) : n_(n) {
    EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&p_), std::max<size_t>(n, 1) * sizeof(T)), cudaSuccess);
  }
  ~Dev() { cudaFree(p_); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  T* get() { return p_; }
  size_t size() const { return n_; }

 private:
  T* p_ = nullptr;
  size_t n_;
};

Dev<bf16>* UpBf16(const FVec& v) {
  auto* d = new Dev<bf16>(v.size());
  std::vector<bf16> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = __float2bfloat16_rn(v[i]);
  EXPECT_EQ(cudaMemcpy(d->get(), h.data(), h.size() * sizeof(bf16), cudaMemcpyHostToDevice), cudaSuccess);
  return d;
}
template <typename T>
Dev<T>* Up(const std::vector<T>& v) {
  auto* d = new Dev<T>(v.size());
  EXPECT_EQ(cudaMemcpy(d->get(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  return d;
}
FVec DownBf16(Dev<bf16>& d) {
  std::vector<bf16> h(d.size());
  EXPECT_EQ(cudaMemcpy(h.data(), d.get(), h.size() * sizeof(bf16), cudaMemcpyDeviceToHost), cudaSuccess);
  FVec v(h.size());
  for (size_t i = 0; i < h.size(); ++i) v[i] = __bfloat162float(h[i]);
  return v;
}
template <typename T>
std::vector<T> Down(Dev<T>& d) {
  std::vector<T> h(d.size());
  EXPECT_EQ(cudaMemcpy(h.data(), d.get(), h.size() * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return h;
}

// |got - want| <= atol + rtol |want| everywhere; names the worst element.
void ExpectClose(const FVec& got, const FVec& want, float atol, float rtol, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  size_t bad = 0, worst_i = 0;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(double(got[i]) - want[i]), lim = atol + rtol * std::fabs(want[i]);
    if (!(err <= lim)) ++bad;
    if (!(err <= worst)) {
      worst = err;
      worst_i = i;
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << got.size() << " outside tolerance; worst at " << worst_i
                     << ": got " << got[worst_i] << " want " << want[worst_i];
}

class CudaKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::DeviceCount() == 0) {
      GTEST_SKIP() << "no CUDA device visible (nvidia-smi, CUDA_VISIBLE_DEVICES): the CUDA kernels are compiled "
                      "but not run here; scripts/gpu_check.sh runs them on a GPU machine";
    }
    ASSERT_TRUE(cuda::UseDevice(0).ok());
  }
  void TearDown() override {
    if (cuda::DeviceCount() > 0) {
      EXPECT_TRUE(cuda::CheckLaunch("kernel launch").ok()) << cuda::CheckLaunch("kernel launch").ToString();
      EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    }
  }
  cudaStream_t s = nullptr;  // the legacy default stream: every call below is ordered
};

TEST_F(CudaKernels, Embedding) {
  const int64_t b = 2, t = 16, c = 64, v = 100, n = b * t;
  std::vector<int32_t> tok(n);
  for (int64_t i = 0; i < n; ++i) tok[i] = static_cast<int32_t>((i * 37) % v);
  tok[5] = tok[9];  // a repeated token accumulates in order
  FVec wte = Rand(v * c, 1), wpe = Rand(t * c, 2), dout = Rand(n * c, 3);
  FVec out(n * c), dwte(v * c, 0.0f), dwpe(t * c, 0.0f);
  EmbeddingLookup(out.data(), tok.data(), wte.data(), n, c, 0, v);
  PositionAdd(out.data(), wpe.data(), b, t, c);
  EmbeddingLookupBackward(dwte.data(), dout.data(), tok.data(), n, c, 0, v);
  PositionAddBackward(dwpe.data(), dout.data(), b, t, c, false);

  std::unique_ptr<Dev<int32_t>> dtok(Up(tok));
  std::unique_ptr<Dev<bf16>> dwte_p(UpBf16(wte)), dwpe_p(UpBf16(wpe)), ddout(UpBf16(dout));
  Dev<bf16> gout(n * c);
  Dev<float> gdwte(v * c), gdwpe(t * c);
  cudaMemset(gdwte.get(), 0, v * c * sizeof(float));
  cuda::EmbeddingLookup(gout.get(), dtok->get(), dwte_p->get(), n, c, 0, v, s);
  cuda::PositionAdd(gout.get(), dwpe_p->get(), b, t, c, s);
  cuda::EmbeddingLookupBackward(gdwte.get(), ddout->get(), dtok->get(), n, c, 0, v, s);
  cuda::PositionAddBackward(gdwpe.get(), ddout->get(), b, t, c, false, s);
  ExpectClose(DownBf16(gout), out, 1e-2f, 1e-2f, "lookup + position");
  ExpectClose(Down(gdwte), dwte, 1e-5f, 1e-5f, "dwte");
  ExpectClose(Down(gdwpe), dwpe, 1e-5f, 1e-5f, "dwpe");
}

TEST_F(CudaKernels, ResidualLayerNormForwardBackward) {
  const int64_t n = 64, c = 256;
  FVec res = Rand(n * c, 4), x = Rand(n * c, 5), w = Rand(c, 6, 0.5f), bb = Rand(c, 7, 0.1f), dy = Rand(n * c, 8);
  // CPU: the residual sum rounded to bf16 (what the GPU stores), then LayerNorm.
  FVec sum(n * c);
  for (int64_t i = 0; i < n * c; ++i) sum[i] = __bfloat162float(__float2bfloat16_rn(res[i] + x[i]));
  FVec y(n * c), mean(n), rstd(n), dx(n * c, 0.0f), dw(c), db(c);
  LayerNormForward(y.data(), mean.data(), rstd.data(), sum.data(), w.data(), bb.data(), n, c);
  LayerNormBackward(dx.data(), dw.data(), db.data(), dy.data(), sum.data(), w.data(), mean.data(), rstd.data(), n, c,
                    false);

  std::unique_ptr<Dev<bf16>> gres(UpBf16(res)), gx(UpBf16(x)), gw(UpBf16(w)), gb(UpBf16(bb)), gdy(UpBf16(dy));
  Dev<bf16> gsum(n * c), gy(n * c), gdx(n * c);
  Dev<float> gmean(n), grstd(n), gdw(c), gdb(c), scratch(cuda::LayerNormBackwardScratch(n, c));
  cudaMemset(gdx.get(), 0, n * c * sizeof(bf16));
  cuda::ResidualLayerNormForward(gsum.get(), gy.get(), gmean.get(), grstd.get(), gres->get(), gx->get(), gw->get(),
                                 gb->get(), n, c, s);
  cuda::LayerNormBackward(gdx.get(), gdw.get(), gdb.get(), gdy->get(), gsum.get(), gw->get(), gmean.get(), grstd.get(),
                          n, c, false, scratch.get(), s);
  ExpectClose(DownBf16(gsum), sum, 0, 0, "residual sum");
  ExpectClose(DownBf16(gy), y, 2e-2f, 2e-2f, "y");
  ExpectClose(Down(gmean), mean, 1e-5f, 1e-4f, "mean");
  ExpectClose(Down(grstd), rstd, 1e-5f, 1e-4f, "rstd");
  ExpectClose(DownBf16(gdx), dx, 2e-2f, 2e-2f, "dx");
  ExpectClose(Down(gdw), dw, 1e-3f, 1e-3f, "dw");
  ExpectClose(Down(gdb), db, 1e-3f, 1e-3f, "db");
}

TEST_F(CudaKernels, Gelu) {
  const int64_t n = 4096;
  FVec x = Rand(n, 9, 2.0f), dy = Rand(n, 10), y(n), dx(n);
  GeluForward(y.data(), x.data(), n);
  GeluBackward(dx.data(), x.data(), dy.data(), n);
  std::unique_ptr<Dev<bf16>> gx(UpBf16(x)), gdy(UpBf16(dy));
  Dev<bf16> gy(n), gdx(n);
  cuda::GeluForward(gy.get(), gx->get(), n, s);
  cuda::GeluBackward(gdx.get(), gx->get(), gdy->get(), n, s);
  ExpectClose(DownBf16(gy), y, 1e-2f, 1e-2f, "gelu");
  ExpectClose(DownBf16(gdx), dx, 1e-2f, 1e-2f, "gelu backward");
}

TEST_F(CudaKernels, AttentionForwardBackwardAndDeterminism) {
  const int64_t b = 2, t = 48, nh = 4, hd = 64, c = nh * hd;
  FVec qkv = Rand(b * t * 3 * c, 11, 0.5f), dout = Rand(b * t * c, 12);
  FVec out(b * t * c), lse(b * nh * t), dqkv(b * t * 3 * c);
  AttentionForward(out.data(), lse.data(), qkv.data(), b, t, nh, hd);
  AttentionBackward(dqkv.data(), dout.data(), out.data(), lse.data(), qkv.data(), b, t, nh, hd);
  std::unique_ptr<Dev<bf16>> gqkv(UpBf16(qkv)), gdout(UpBf16(dout));
  Dev<bf16> gout(b * t * c), gdqkv(b * t * 3 * c);
  Dev<float> glse(b * nh * t), scratch(cuda::AttentionBackwardScratch(b, t, nh));
  cuda::AttentionForward(gout.get(), glse.get(), gqkv->get(), b, t, nh, hd, s);
  cuda::AttentionBackward(gdqkv.get(), gdout->get(), gout.get(), glse.get(), gqkv->get(), b, t, nh, hd, scratch.get(),
                          s);
  ExpectClose(DownBf16(gout), out, 2e-2f, 2e-2f, "attention out");
  ExpectClose(Down(glse), lse, 1e-3f, 1e-3f, "lse");
  // The backward reads the bf16-rounded O of the GPU forward: a looser tolerance.
  ExpectClose(DownBf16(gdqkv), dqkv, 5e-2f, 5e-2f, "dqkv");
  const FVec first = DownBf16(gdqkv);
  cuda::AttentionBackward(gdqkv.get(), gdout->get(), gout.get(), glse.get(), gqkv->get(), b, t, nh, hd, scratch.get(),
                          s);
  EXPECT_EQ(DownBf16(gdqkv), first) << "attention backward is not bitwise repeatable";
}

TEST_F(CudaKernels, CrossEntropyFused) {
  const int64_t m = 32, v = 1000;
  FVec z = Rand(m * v, 13, 2.0f), losses(m), scale(m, 1.0f / m);
  std::vector<int32_t> tgt(m);
  for (int64_t i = 0; i < m; ++i) tgt[i] = static_cast<int32_t>((i * 131) % v);
  FVec zc = z;
  CrossEntropyForwardBackward(losses.data(), zc.data(), tgt.data(), m, v, scale.data());
  std::unique_ptr<Dev<bf16>> gz(UpBf16(z));
  std::unique_ptr<Dev<int32_t>> gt(Up(tgt));
  std::unique_ptr<Dev<float>> gscale(Up(scale));
  Dev<float> gl(m);
  cuda::CrossEntropyForwardBackward(gl.get(), gz->get(), gt->get(), m, v, gscale->get(), s);
  ExpectClose(Down(gl), losses, 1e-4f, 1e-4f, "losses");
  ExpectClose(DownBf16(*gz), zc, 1e-5f, 1e-2f, "dlogits");
}

TEST_F(CudaKernels, AdamWMasterAndGradNorm) {
  const int64_t n = 100003;  // not a multiple of any block size
  FVec p = Rand(n, 14), g = Rand(n, 15, 0.1f), m(n, 0.0f), v(n, 0.0f);
  AdamWStep st;
  st.lr = 1e-3f;
  st.weight_decay = 0.1f;
  st.step = 3;
  st.grad_scale = 0.5f;
  const double ss = SumSquares(g.data(), n);
  std::unique_ptr<Dev<float>> gp(Up(p)), gg(Up(g)), gm(Up(m)), gv(Up(v));
  Dev<bf16> gparam(n);
  Dev<double> gss(1), scratch(cuda::GradSumSquaresScratch());
  cuda::GradSumSquares(gss.get(), gg->get(), n, false, scratch.get(), s);
  FVec pc = p, gc = g;
  AdamWUpdate(pc.data(), gc.data(), m.data(), v.data(), n, st, true, true);
  cuda::AdamWUpdate(gp->get(), gparam.get(), gg->get(), gm->get(), gv->get(), n, st, true, true, s);
  EXPECT_NEAR(Down(gss)[0], ss, 1e-5 * ss);
  ExpectClose(Down(*gp), pc, 1e-6f, 1e-5f, "master");
  ExpectClose(DownBf16(gparam), pc, 0, 8e-3f, "bf16 params");
  ExpectClose(Down(*gm), m, 1e-7f, 1e-5f, "m");
  ExpectClose(Down(*gg), FVec(n, 0.0f), 0, 0, "grad cleared");
}

TEST_F(CudaKernels, GemmsAndBiasGrad) {
  const int64_t m = 128, k = 64, n = 96;
  FVec x = Rand(m * k, 16), w = Rand(n * k, 17, 0.2f), bias = Rand(n, 18), dy = Rand(m * n, 19);
  FVec y(m * n), dx(m * k), dw(n * k), db(n);
  MatmulForward(y.data(), x.data(), w.data(), bias.data(), m, k, n);
  MatmulBackward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), m, k, n, false, false);
  FVec yg(m * n);
  GeluForward(yg.data(), y.data(), m * n);

  auto gemm = cuda::Gemm::Create();
  ASSERT_TRUE(gemm.ok()) << gemm.status().ToString();
  std::unique_ptr<Dev<bf16>> gx(UpBf16(x)), gw(UpBf16(w)), gb(UpBf16(bias)), gdy(UpBf16(dy));
  Dev<bf16> gy(m * n), gpre(m * n), gyg(m * n), gdx(m * k);
  Dev<float> gdw(n * k), gdb(n), scratch(cuda::BiasBackwardScratch(m, n));
  auto st = (*gemm)->MatmulForward(gy.get(), nullptr, gx->get(), gw->get(), gb->get(), m, k, n, false, s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  st = (*gemm)->MatmulForward(gyg.get(), gpre.get(), gx->get(), gw->get(), gb->get(), m, k, n, true, s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  st = (*gemm)->MatmulBackward(gdx.get(), gdw.get(), gdy->get(), gx->get(), gw->get(), m, k, n, false, false, s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  cuda::BiasBackward(gdb.get(), gdy->get(), m, n, false, scratch.get(), s);
  ExpectClose(DownBf16(gy), y, 3e-2f, 1e-2f, "forward + bias");
  ExpectClose(DownBf16(gpre), y, 3e-2f, 1e-2f, "pre-activation (aux)");
  ExpectClose(DownBf16(gyg), yg, 3e-2f, 1e-2f, "forward + bias + gelu epilogue");
  ExpectClose(DownBf16(gdx), dx, 3e-2f, 1e-2f, "dinp");
  ExpectClose(Down(gdw), dw, 1e-3f, 1e-3f, "dweight (fp32)");
  ExpectClose(Down(gdb), db, 1e-4f, 1e-4f, "dbias");
}

}  // namespace
}  // namespace ogai::kernels
