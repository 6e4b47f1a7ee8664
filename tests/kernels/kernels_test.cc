// Each CPU kernel against its double-precision reference (forward and backward), and each
// backward against finite differences of the reference forward.
#include <omp.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/crc32c.h"
#include "kernels/cpu/adamw.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/crossentropy.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/gelu.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cpu/vec_math.h"
#include "kernels/ref/reference.h"

namespace ogai::kernels {
namespace {

using Vec = std::vector<double>;
using FVec = std::vector<float>;

Vec Rand(size_t n, uint32_t seed, double scale = 1.0) {
  std::mt19937 g(seed);
  std::normal_distribution<double> d(0.0, scale);
  Vec v(n);
  for (auto& x : v) x = static_cast<float>(d(g));  // representable in float
  return v;
}
FVec F(const Vec& v) { return FVec(v.begin(), v.end()); }

void ExpectNear(const FVec& got, const Vec& want, double atol, double rtol, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  size_t bad = 0;
  double worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double err = std::fabs(got[i] - want[i]);
    double tol = atol + rtol * std::fabs(want[i]);
    if (err > tol) ++bad;
    if (err - tol > worst) {
      worst = err - tol;
      worst_i = i;
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << got.size() << " out of tolerance; worst at " << worst_i
                     << " got " << got[worst_i] << " want " << want[worst_i];
}

// Gradient of L(x) = sum(f(x) * r) by central differences, in double.
Vec FiniteDiff(const std::function<Vec(const Vec&)>& f, Vec x, const Vec& r, double eps = 1e-6) {
  Vec g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    x[i] = x0 + eps;
    Vec a = f(x);
    x[i] = x0 - eps;
    Vec b = f(x);
    x[i] = x0;
    double s = 0;
    for (size_t j = 0; j < a.size(); ++j) s += (a[j] - b[j]) * r[j];
    g[i] = s / (2 * eps);
  }
  return g;
}

TEST(VecMath, ExpAndTanhAreAccurate) {
  double worst_exp = 0, worst_tanh = 0;
  for (int i = -870000; i <= 880000; i += 7) {
    const float x = i * 1e-4f;
    const double want = std::exp(static_cast<double>(x));
    worst_exp = std::max(worst_exp, std::fabs(FastExp(x) - want) / want);
  }
  for (int i = -120000; i <= 120000; i += 3) {
    const float u = i * 1e-4f;
    worst_tanh = std::max(worst_tanh, std::fabs(FastTanh(u) - std::tanh(static_cast<double>(u))));
  }
  EXPECT_LT(worst_exp, 4e-7);
  EXPECT_LT(worst_tanh, 3e-7);
  EXPECT_EQ(FastExp(-100.0f), 0.0f);
  EXPECT_EQ(FastExp(0.0f), 1.0f);
}

TEST(Gemm, AllTransposesMatchNaive) {
  const int m = 37, n = 29, k = 41;
  Vec a = Rand(m * k, 1), b = Rand(k * n, 2);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      FVec fa = F(a), fb = F(b), c(m * n, 1.0f);
      // Stored as op(A): ta means A is stored [k, m].
      Sgemm(ta, tb, m, n, k, 2.0f, fa.data(), ta ? m : k, fb.data(), tb ? k : n, 0.5f, c.data(), n);
      Vec want(m * n);
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
          double s = 0;
          for (int l = 0; l < k; ++l) s += (ta ? a[l * m + i] : a[i * k + l]) * (tb ? b[j * k + l] : b[l * n + j]);
          want[i * n + j] = 2 * s + 0.5;
        }
      ExpectNear(c, want, 1e-4, 1e-4, "sgemm");
    }
}

TEST(Gemm, PanelsCoverTheSideWithFixedBounds) {
  EXPECT_EQ(PanelsFor(1).count, 1);
  EXPECT_EQ(PanelsFor(383).count, 1);
  EXPECT_EQ(PanelsFor(768).count, 2);
  EXPECT_EQ(PanelsFor(768).width, 384);
  EXPECT_EQ(PanelsFor(3072).count, 8);
  for (int64_t len : {1, 17, 385, 800, 2304, 50304, 100000}) {
    const GemmPanels p = PanelsFor(len);
    EXPECT_LE(p.count, kGemmPanelsMax) << len;
    EXPECT_GE(p.count * p.width, len) << len;
    EXPECT_LT((p.count - 1) * p.width, len) << len;  // no empty panel
  }
}

// onednn-panels against a naive product (both sides cut: n >= m and m > n, several panels,
// a short last one), and the same bits with 1 and 3 threads.
TEST(Gemm, PanelsMatchNaiveAndNotTheThreadCount) {
  const std::string saved = GemmBackendName();
  ASSERT_TRUE(SetGemmBackend("onednn-panels").ok());
  EXPECT_EQ(GemmBackendName(), "onednn-panels");
  struct Case {
    int m, n, k;
  };
  for (const Case& cs : {Case{37, 1000, 41}, Case{1100, 29, 23}, Case{5, 7, 3}}) {
    const int m = cs.m, n = cs.n, k = cs.k;
    Vec a = Rand(m * k, 5), b = Rand(k * n, 6), c0 = Rand(m * n, 7);
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        FVec fa = F(a), fb = F(b);
        auto run = [&](int threads) {
          FVec c = F(c0);
          const int saved = omp_get_max_threads();
          omp_set_num_threads(threads);
          Sgemm(ta, tb, m, n, k, 2.0f, fa.data(), ta ? m : k, fb.data(), tb ? k : n, 0.5f, c.data(), n);
          omp_set_num_threads(saved);
          return c;
        };
        const FVec one = run(1), three = run(3);
        EXPECT_EQ(one, three) << m << "x" << n << "x" << k << " ta " << ta << " tb " << tb;
        Vec want(m * n);
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < n; ++j) {
            double s = 0;
            for (int l = 0; l < k; ++l) s += (ta ? a[l * m + i] : a[i * k + l]) * (tb ? b[j * k + l] : b[l * n + j]);
            want[i * n + j] = 2 * s + 0.5 * c0[i * n + j];
          }
        ExpectNear(three, want, 1e-4, 1e-4, "sgemm panels");
      }
  }
  ASSERT_TRUE(SetGemmBackend(saved).ok());
}

// The bias and GELU fused into the GEMM's blocks give the bits of the separate passes, with
// either oneDNN threading (the GEMM itself is the same call in both).
TEST(Matmul, FusedGeluIsBitIdenticalToSeparatePasses) {
  const int m = 40, k = 24, n = 900;  // several panels along n
  const std::string saved = GemmBackendName();
  Vec x = Rand(m * k, 11), w = Rand(n * k, 12), b = Rand(n, 13), r = Rand(m * n, 14), g = Rand(m * n, 15);
  FVec fx = F(x), fw = F(w), fb = F(b), fr = F(r), fg = F(g);
  for (const char* backend : {"onednn", "onednn-panels"}) {
    ASSERT_TRUE(SetGemmBackend(backend).ok());
    FVec pre(m * n), out(m * n), want_pre(m * n), want_out(m * n);
    MatmulForwardGelu(pre.data(), out.data(), fx.data(), fw.data(), fb.data(), m, k, n);
    Sgemm(false, true, m, n, k, 1.0f, fx.data(), k, fw.data(), k, 0.0f, want_pre.data(), n);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) want_pre[i * n + j] += fb[j];
    GeluForward(want_out.data(), want_pre.data(), m * n);
    EXPECT_EQ(pre, want_pre) << backend;
    EXPECT_EQ(out, want_out) << backend;
    FVec bias_only(m * n);
    MatmulForward(bias_only.data(), fx.data(), fw.data(), fb.data(), m, k, n);
    EXPECT_EQ(bias_only, want_pre) << backend;
    FVec with_res(m * n), want_res(m * n);
    MatmulForwardResidual(with_res.data(), fx.data(), fw.data(), fb.data(), fr.data(), m, k, n);
    Sgemm(false, true, m, n, k, 1.0f, fx.data(), k, fw.data(), k, 0.0f, want_res.data(), n);
    for (int i = 0; i < m * n; ++i) want_res[i] = fr[i] + (want_res[i] + fb[i % n]);
    EXPECT_EQ(with_res, want_res) << backend;

    // Backward of a layer [n -> k] whose input went through GELU: dinp[m, n].
    FVec dinp(m * n), dw(k * n, 1.0f), want_dinp(m * n), want_dw(k * n, 1.0f);
    FVec dout = F(Rand(m * k, 16)), w2 = F(Rand(k * n, 17));
    MatmulBackwardGelu(dinp.data(), dw.data(), nullptr, dout.data(), fr.data(), w2.data(), fg.data(), m, n, k, true);
    MatmulBackward(want_dinp.data(), want_dw.data(), nullptr, dout.data(), fr.data(), w2.data(), m, n, k, false, true);
    GeluBackward(want_dinp.data(), fg.data(), want_dinp.data(), m * n);
    EXPECT_EQ(dinp, want_dinp) << backend;
    EXPECT_EQ(dw, want_dw) << backend;
  }
  ASSERT_TRUE(SetGemmBackend(saved).ok());
}

TEST(Gemm, OpenBlasBackendAgreesWhenAvailable) {
  const std::string saved = GemmBackendName();
  Status st = SetGemmBackend("openblas");
  if (!st.ok()) GTEST_SKIP() << "OpenBLAS not loadable here: " << st.ToString();
  const int m = 16, n = 24, k = 8;
  Vec a = Rand(m * k, 3), b = Rand(n * k, 4);
  FVec out(m * n);
  MatmulForward(out.data(), F(a).data(), F(b).data(), nullptr, m, k, n);
  EXPECT_NE(GemmBackendDescription().find("openblas"), std::string::npos);
  ASSERT_TRUE(SetGemmBackend(saved).ok());
  Vec want;
  ref::MatmulForward(want, a, b, nullptr, m, k, n);
  ExpectNear(out, want, 1e-4, 1e-4, "openblas matmul");
  EXPECT_FALSE(SetGemmBackend("nope").ok());
}

TEST(Matmul, ForwardBackwardAgainstReferenceAndFiniteDiff) {
  const int m = 12, k = 10, n = 7;
  Vec x = Rand(m * k, 5), w = Rand(n * k, 6), b = Rand(n, 7), r = Rand(m * n, 8);
  FVec out(m * n);
  MatmulForward(out.data(), F(x).data(), F(w).data(), F(b).data(), m, k, n);
  Vec want;
  ref::MatmulForward(want, x, w, &b, m, k, n);
  ExpectNear(out, want, 1e-5, 1e-5, "matmul fwd");

  FVec dx(m * k, 0.5f), dw(n * k, 0.25f), db(n, 0.125f);  // accumulate onto these
  MatmulBackward(dx.data(), dw.data(), db.data(), F(r).data(), F(x).data(), F(w).data(), m, k, n, true, true);
  Vec rdx, rdw, rdb;
  ref::MatmulBackward(rdx, rdw, &rdb, r, x, w, m, k, n);
  for (auto& v : rdx) v += 0.5;
  for (auto& v : rdw) v += 0.25;
  for (auto& v : rdb) v += 0.125;
  ExpectNear(dx, rdx, 1e-5, 1e-5, "matmul dx");
  ExpectNear(dw, rdw, 1e-5, 1e-5, "matmul dw");
  ExpectNear(db, rdb, 1e-5, 1e-5, "matmul db");

  // Overwrite mode, and the finite-difference check of each gradient.
  MatmulBackward(dx.data(), dw.data(), db.data(), F(r).data(), F(x).data(), F(w).data(), m, k, n, false, false);
  auto fx = [&](const Vec& xx) {
    Vec o;
    ref::MatmulForward(o, xx, w, &b, m, k, n);
    return o;
  };
  auto fw = [&](const Vec& ww) {
    Vec o;
    ref::MatmulForward(o, x, ww, &b, m, k, n);
    return o;
  };
  auto fb = [&](const Vec& bb) {
    Vec o;
    ref::MatmulForward(o, x, w, &bb, m, k, n);
    return o;
  };
  ExpectNear(dx, FiniteDiff(fx, x, r), 1e-4, 1e-4, "matmul dx fd");
  ExpectNear(dw, FiniteDiff(fw, w, r), 1e-4, 1e-4, "matmul dw fd");
  ExpectNear(db, FiniteDiff(fb, b, r), 1e-4, 1e-4, "matmul db fd");
}

TEST(Embedding, LookupPositionAndBackward) {
  const int b = 2, t = 5, c = 6, v = 11;
  std::vector<int32_t> tok = {0, 3, 3, 10, 7, 1, 3, 9, 0, 2};
  Vec wte = Rand(v * c, 9), wpe = Rand(t * c, 10), r = Rand(b * t * c, 11);
  FVec out(b * t * c);
  EmbeddingLookup(out.data(), tok.data(), F(wte).data(), b * t, c, 0, v);
  PositionAdd(out.data(), F(wpe).data(), b, t, c);
  Vec want;
  ref::Embedding(want, tok, wte, wpe, b, t, c);
  ExpectNear(out, want, 1e-6, 1e-6, "embedding fwd");

  FVec dwte(v * c, 0.0f), dwpe(t * c, 0.0f);
  EmbeddingLookupBackward(dwte.data(), F(r).data(), tok.data(), b * t, c, 0, v);
  PositionAddBackward(dwpe.data(), F(r).data(), b, t, c);
  Vec rdwte(v * c, 0.0), rdwpe(t * c, 0.0);
  ref::EmbeddingBackward(rdwte, rdwpe, r, tok, b, t, c);
  ExpectNear(dwte, rdwte, 1e-5, 1e-5, "dwte");
  ExpectNear(dwpe, rdwpe, 1e-5, 1e-5, "dwpe");
  auto fte = [&](const Vec& x) {
    Vec o;
    ref::Embedding(o, tok, x, wpe, b, t, c);
    return o;
  };
  auto fpe = [&](const Vec& x) {
    Vec o;
    ref::Embedding(o, tok, wte, x, b, t, c);
    return o;
  };
  ExpectNear(dwte, FiniteDiff(fte, wte, r), 1e-4, 1e-4, "dwte fd");
  ExpectNear(dwpe, FiniteDiff(fpe, wpe, r), 1e-4, 1e-4, "dwpe fd");
}

TEST(Embedding, VocabShardsSumToDense) {
  const int n = 8, c = 4, v = 10;
  std::vector<int32_t> tok = {0, 9, 4, 5, 5, 2, 7, 3};
  Vec wte = Rand(v * c, 12);
  FVec full(n * c), a(n * c), b(n * c);
  FVec fw = F(wte);
  EmbeddingLookup(full.data(), tok.data(), fw.data(), n, c, 0, v);
  EmbeddingLookup(a.data(), tok.data(), fw.data(), n, c, 0, 5);
  EmbeddingLookup(b.data(), tok.data(), fw.data() + 5 * c, n, c, 5, 10);
  for (int i = 0; i < n * c; ++i) EXPECT_EQ(full[i], a[i] + b[i]);
}

TEST(LayerNorm, ForwardBackward) {
  const int n = 9, c = 16;
  Vec x = Rand(n * c, 13, 2.0), w = Rand(c, 14), b = Rand(c, 15), r = Rand(n * c, 16);
  for (int i = 0; i < n * c; ++i) x[i] += 0.5;
  FVec out(n * c), mean(n), rstd(n);
  LayerNormForward(out.data(), mean.data(), rstd.data(), F(x).data(), F(w).data(), F(b).data(), n, c);
  Vec want;
  ref::LayerNorm(want, x, w, b, n, c);
  ExpectNear(out, want, 1e-5, 1e-5, "layernorm fwd");

  FVec dx(n * c, 0.0f), dw(c, 0.0f), db(c, 0.0f);
  LayerNormBackward(dx.data(), dw.data(), db.data(), F(r).data(), F(x).data(), F(w).data(), mean.data(), rstd.data(), n,
                    c);
  Vec rdx, rdw, rdb;
  ref::LayerNormBackward(rdx, rdw, rdb, r, x, w, n, c);
  ExpectNear(dx, rdx, 1e-4, 1e-4, "layernorm dx");
  ExpectNear(dw, rdw, 1e-4, 1e-4, "layernorm dw");
  ExpectNear(db, rdb, 1e-4, 1e-4, "layernorm db");
  auto fx = [&](const Vec& xx) {
    Vec o;
    ref::LayerNorm(o, xx, w, b, n, c);
    return o;
  };
  auto fw = [&](const Vec& ww) {
    Vec o;
    ref::LayerNorm(o, x, ww, b, n, c);
    return o;
  };
  ExpectNear(dx, FiniteDiff(fx, x, r), 1e-3, 1e-3, "layernorm dx fd");
  ExpectNear(dw, FiniteDiff(fw, w, r), 1e-3, 1e-3, "layernorm dw fd");
}

TEST(Gelu, ForwardBackward) {
  Vec x = Rand(257, 17, 2.0), r = Rand(257, 18);
  FVec out(x.size()), dx(x.size());
  GeluForward(out.data(), F(x).data(), x.size());
  Vec want;
  ref::Gelu(want, x);
  ExpectNear(out, want, 1e-6, 1e-5, "gelu fwd");
  GeluBackward(dx.data(), F(x).data(), F(r).data(), x.size());
  Vec rdx;
  ref::GeluBackward(rdx, x, r);
  ExpectNear(dx, rdx, 1e-5, 1e-5, "gelu bwd");
  auto f = [&](const Vec& xx) {
    Vec o;
    ref::Gelu(o, xx);
    return o;
  };
  ExpectNear(dx, FiniteDiff(f, x, r), 1e-4, 1e-4, "gelu fd");
}

TEST(Softmax, ForwardBackward) {
  const int rows = 7, cols = 13;
  Vec x = Rand(rows * cols, 19, 3.0), r = Rand(rows * cols, 20);
  FVec out(x.size()), dx(x.size());
  SoftmaxForward(out.data(), F(x).data(), rows, cols);
  Vec want;
  ref::Softmax(want, x, rows, cols);
  ExpectNear(out, want, 1e-6, 1e-5, "softmax fwd");
  SoftmaxBackward(dx.data(), out.data(), F(r).data(), rows, cols);
  Vec rdx;
  ref::SoftmaxBackward(rdx, want, r, rows, cols);
  ExpectNear(dx, rdx, 1e-5, 1e-5, "softmax bwd");
  auto f = [&](const Vec& xx) {
    Vec o;
    ref::Softmax(o, xx, rows, cols);
    return o;
  };
  ExpectNear(dx, FiniteDiff(f, x, r), 1e-4, 1e-4, "softmax fd");
}

TEST(Attention, ForwardBackward) {
  const int b = 2, t = 7, nh = 3, hd = 4, c = nh * hd;
  Vec qkv = Rand(b * t * 3 * c, 21), r = Rand(b * t * c, 22);
  FVec out(b * t * c), lse(b * nh * t), dqkv(qkv.size());
  FVec fqkv = F(qkv);
  AttentionForward(out.data(), lse.data(), fqkv.data(), b, t, nh, hd);
  Vec want;
  ref::Attention(want, qkv, b, t, nh, hd);
  ExpectNear(out, want, 1e-5, 1e-5, "attention fwd");
  AttentionBackward(dqkv.data(), F(r).data(), out.data(), lse.data(), fqkv.data(), b, t, nh, hd);
  Vec rd;
  ref::AttentionBackward(rd, r, qkv, b, t, nh, hd);
  ExpectNear(dqkv, rd, 1e-5, 1e-4, "attention bwd");
  auto f = [&](const Vec& x) {
    Vec o;
    ref::Attention(o, x, b, t, nh, hd);
    return o;
  };
  ExpectNear(dqkv, FiniteDiff(f, qkv, r), 1e-4, 1e-3, "attention fd");
}

TEST(Attention, IsCausal) {
  const int b = 1, t = 6, nh = 2, hd = 4, c = nh * hd;
  Vec qkv = Rand(b * t * 3 * c, 23);
  FVec o1(t * c), o2(t * c), lse(nh * t);
  FVec f = F(qkv);
  AttentionForward(o1.data(), lse.data(), f.data(), b, t, nh, hd);
  for (int e = 0; e < 3 * c; ++e) f[(t - 1) * 3 * c + e] += 1.0f;  // change the last token
  AttentionForward(o2.data(), lse.data(), f.data(), b, t, nh, hd);
  for (int i = 0; i < (t - 1) * c; ++i) ASSERT_EQ(o1[i], o2[i]) << "position " << i / c << " saw the future";
}

TEST(CrossEntropy, FusedForwardBackwardAndShardedPieces) {
  const int m = 6, v = 17;
  Vec z = Rand(m * v, 24, 2.0);
  std::vector<int32_t> tgt = {0, 16, 5, 5, 9, 3};
  FVec losses(m), fz = F(z), scale(m, 1.0f / m);
  CrossEntropyForwardBackward(losses.data(), fz.data(), tgt.data(), m, v, scale.data());
  Vec rl, rdz;
  ref::CrossEntropy(rl, z, tgt, m, v);
  ref::CrossEntropyBackward(rdz, z, tgt, m, v, 1.0 / m);
  ExpectNear(losses, rl, 1e-5, 1e-5, "xent loss");
  ExpectNear(fz, rdz, 1e-6, 1e-5, "xent grad");
  FVec lf(m);
  CrossEntropyForward(lf.data(), F(z).data(), tgt.data(), m, v);
  ExpectNear(lf, rl, 1e-5, 1e-5, "xent fwd only");
  // Mean loss through finite differences of the reference.
  Vec ones(m, 1.0 / m);
  auto f = [&](const Vec& x) {
    Vec o;
    ref::CrossEntropy(o, x, tgt, m, v);
    return o;
  };
  ExpectNear(fz, FiniteDiff(f, z, ones), 1e-5, 1e-3, "xent fd");

  // Two vocab shards combined by max/sum give the dense loss and gradient.
  const int v0 = 8, v1 = v - v0;
  FVec a(m * v0), b(m * v1);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < v; ++j) (j < v0 ? a[i * v0 + j] : b[i * v1 + j - v0]) = static_cast<float>(z[i * v + j]);
  FVec ma(m), mb(m), sa(m), sb(m), ta(m), tb(m), mx(m), sum(m);
  RowMax(ma.data(), a.data(), m, v0);
  RowMax(mb.data(), b.data(), m, v1);
  for (int i = 0; i < m; ++i) mx[i] = std::max(ma[i], mb[i]);
  RowSumExp(sa.data(), a.data(), mx.data(), m, v0);
  RowSumExp(sb.data(), b.data(), mx.data(), m, v1);
  TargetLogit(ta.data(), a.data(), tgt.data(), m, v0, 0);
  TargetLogit(tb.data(), b.data(), tgt.data(), m, v1, v0);
  FVec sharded(m);
  for (int i = 0; i < m; ++i) {
    sum[i] = sa[i] + sb[i];
    sharded[i] = mx[i] + std::log(sum[i]) - (ta[i] + tb[i]);
  }
  ExpectNear(sharded, rl, 1e-5, 1e-5, "sharded loss");
  SoftmaxXentGrad(a.data(), tgt.data(), mx.data(), sum.data(), scale.data(), m, v0, 0);
  SoftmaxXentGrad(b.data(), tgt.data(), mx.data(), sum.data(), scale.data(), m, v1, v0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < v; ++j) EXPECT_NEAR(j < v0 ? a[i * v0 + j] : b[i * v1 + j - v0], rdz[i * v + j], 1e-6);
}

TEST(AdamW, MatchesReferenceOverSeveralSteps) {
  const int n = 100;
  Vec p = Rand(n, 28), m(n, 0.0), v(n, 0.0);
  FVec fp = F(p), fm(n, 0.0f), fv(n, 0.0f);
  for (int step = 1; step <= 5; ++step) {
    Vec g = Rand(n, 100 + step);
    FVec fg = F(g);
    AdamWStep s;
    s.lr = 1e-2f;
    s.weight_decay = 0.1f;
    s.step = step;
    s.grad_scale = 0.5f;
    AdamWUpdate(fp.data(), fg.data(), fm.data(), fv.data(), n, s, true, true);
    for (float x : fg) ASSERT_EQ(x, 0.0f);
    ref::AdamW(p, g, m, v, 1e-2, 0.9, 0.95, 1e-8, 0.1, step, 0.5);
  }
  ExpectNear(fp, p, 1e-6, 1e-5, "adamw params");
  ExpectNear(fm, m, 1e-6, 1e-5, "adamw m");
  ExpectNear(fv, v, 1e-7, 1e-5, "adamw v");
}

// The runs that also write a checkpoint snapshot (AdamWUpdateRuns) give the bits of the plain
// update, write exactly the updated values out (at unaligned places too), and their CRC-32C.
TEST(AdamW, RunsWithASnapshotGiveThePlainUpdatesBitsAndItsChecksums) {
  const int n = 3 * 4096 + 37;  // pieces of 4096 and a ragged end
  FVec p0 = F(Rand(n, 5)), g0 = F(Rand(n, 6)), m0 = F(Rand(n, 7)), v0 = F(Rand(n, 8));
  for (float& x : v0) x = std::fabs(x);
  AdamWStep s;
  s.lr = 1e-2f;
  s.weight_decay = 0.1f;
  s.step = 3;
  s.grad_scale = 0.7f;
  FVec p = p0, g = g0, m = m0, v = v0;
  AdamWUpdate(p.data(), g.data(), m.data(), v.data(), n, s, true, false);
  // Two runs over the same elements (split at 5000), one written out to 1-float-offset targets.
  FVec rp = p0, rg = g0, rm = m0, rv = v0;
  std::vector<float> out(3 * (n + 1), -1.0f);
  uint32_t crc[3] = {0, 0, 0};
  std::vector<AdamWRun> runs(2);
  runs[0] = {rp.data(), rg.data(), rm.data(), rv.data(), nullptr, 5000, true};
  runs[1] = {rp.data() + 5000, rg.data() + 5000, rm.data() + 5000, rv.data() + 5000, nullptr, n - 5000, true};
  runs[1].out_param = out.data() + 1;
  runs[1].out_m = out.data() + (n + 1) + 1;
  runs[1].out_v = out.data() + 2 * (n + 1) + 1;
  for (int j = 0; j < 3; ++j) runs[1].crc[j] = &crc[j];
  AdamWUpdateRuns(runs, s, false);
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(std::memcmp(&rp[i], &p[i], 4), 0) << "param " << i;
    ASSERT_EQ(std::memcmp(&rm[i], &m[i], 4), 0) << "m " << i;
    ASSERT_EQ(std::memcmp(&rv[i], &v[i], 4), 0) << "v " << i;
  }
  const int k = n - 5000;
  for (int j = 0; j < 3; ++j) {
    const float* src = (j == 0 ? p : j == 1 ? m : v).data() + 5000;
    const float* dst = out.data() + j * (n + 1) + 1;
    EXPECT_EQ(dst[-1], -1.0f) << "written before its target";
    EXPECT_EQ(std::memcmp(dst, src, static_cast<size_t>(k) * 4), 0) << "array " << j;
    EXPECT_EQ(crc[j], Crc32c(src, static_cast<size_t>(k) * 4)) << "array " << j;
  }
}

TEST(AdamW, SumSquaresIsExactEnoughAndOrderFixed) {
  FVec x(100003);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int>(i % 7) - 3) * 0.5f;
  double want = 0;
  for (float f : x) want += static_cast<double>(f) * f;
  double got = SumSquares(x.data(), x.size());
  EXPECT_NEAR(got, want, want * 1e-6);
  EXPECT_EQ(got, SumSquares(x.data(), x.size()));
}

}  // namespace
}  // namespace ogai::kernels
