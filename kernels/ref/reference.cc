#include "kernels/ref/reference.h"

#include <cmath>

namespace ogai::kernels::ref {

void MatmulForward(Vec& out, const Vec& inp, const Vec& w, const Vec* b, int m, int k, int n) {
  out.assign(static_cast<size_t>(m) * n, 0.0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = b ? (*b)[j] : 0.0;
      for (int l = 0; l < k; ++l) s += inp[i * k + l] * w[j * k + l];
      out[i * n + j] = s;
    }
}

void MatmulBackward(Vec& dinp, Vec& dw, Vec* db, const Vec& dout, const Vec& inp, const Vec& w, int m, int k, int n) {
  dinp.assign(static_cast<size_t>(m) * k, 0.0);
  dw.assign(static_cast<size_t>(n) * k, 0.0);
  if (db) db->assign(n, 0.0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      const double g = dout[i * n + j];
      for (int l = 0; l < k; ++l) {
        dinp[i * k + l] += g * w[j * k + l];
        dw[j * k + l] += g * inp[i * k + l];
      }
      if (db) (*db)[j] += g;
    }
}

void Embedding(Vec& out, const std::vector<int32_t>& tok, const Vec& wte, const Vec& wpe, int b, int t, int c) {
  out.assign(static_cast<size_t>(b) * t * c, 0.0);
  for (int i = 0; i < b * t; ++i)
    for (int j = 0; j < c; ++j) out[i * c + j] = wte[tok[i] * c + j] + wpe[(i % t) * c + j];
}

void EmbeddingBackward(Vec& dwte, Vec& dwpe, const Vec& dout, const std::vector<int32_t>& tok, int b, int t, int c) {
  for (int i = 0; i < b * t; ++i)
    for (int j = 0; j < c; ++j) {
      dwte[tok[i] * c + j] += dout[i * c + j];
      dwpe[(i % t) * c + j] += dout[i * c + j];
    }
}

void LayerNorm(Vec& out, const Vec& inp, const Vec& w, const Vec& b, int n, int c) {
  out.assign(static_cast<size_t>(n) * c, 0.0);
  for (int i = 0; i < n; ++i) {
    double mean = 0, var = 0;
    for (int j = 0; j < c; ++j) mean += inp[i * c + j];
    mean /= c;
    for (int j = 0; j < c; ++j) var += (inp[i * c + j] - mean) * (inp[i * c + j] - mean);
    var /= c;
    const double rstd = 1.0 / std::sqrt(var + 1e-5);
    for (int j = 0; j < c; ++j) out[i * c + j] = (inp[i * c + j] - mean) * rstd * w[j] + b[j];
  }
}

void LayerNormBackward(Vec& dinp, Vec& dw, Vec& db, const Vec& dout, const Vec& inp, const Vec& w, int n, int c) {
  dinp.assign(static_cast<size_t>(n) * c, 0.0);
  dw.assign(c, 0.0);
  db.assign(c, 0.0);
  for (int i = 0; i < n; ++i) {
    double mean = 0, var = 0;
    for (int j = 0; j < c; ++j) mean += inp[i * c + j];
    mean /= c;
    for (int j = 0; j < c; ++j) var += (inp[i * c + j] - mean) * (inp[i * c + j] - mean);
    var /= c;
    const double rstd = 1.0 / std::sqrt(var + 1e-5);
    // Full Jacobian: dy_j/dx_k = w_j rstd (delta_jk - 1/c - xhat_j xhat_k / c)
    for (int k = 0; k < c; ++k) {
      const double xk = (inp[i * c + k] - mean) * rstd;
      double s = 0;
      for (int j = 0; j < c; ++j) {
        const double xj = (inp[i * c + j] - mean) * rstd;
        const double jac = w[j] * rstd * ((j == k ? 1.0 : 0.0) - 1.0 / c - xj * xk / c);
        s += dout[i * c + j] * jac;
      }
      dinp[i * c + k] = s;
      dw[k] += dout[i * c + k] * xk;
      db[k] += dout[i * c + k];
    }
  }
}

static double GeluScalar(double x) {
  const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return 0.5 * x * (1.0 + std::tanh(u));
}

void Gelu(Vec& out, const Vec& inp) {
  out.resize(inp.size());
  for (size_t i = 0; i < inp.size(); ++i) out[i] = GeluScalar(inp[i]);
}

void GeluBackward(Vec& dinp, const Vec& inp, const Vec& dout) {
  dinp.resize(inp.size());
  for (size_t i = 0; i < inp.size(); ++i) {
    const double x = inp[i];
    const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
    const double du = std::sqrt(2.0 / M_PI) * (1.0 + 3 * 0.044715 * x * x);
    const double th = std::tanh(u);
    dinp[i] = dout[i] * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * du);
  }
}

void Softmax(Vec& out, const Vec& inp, int rows, int cols) {
  out.resize(inp.size());
  for (int r = 0; r < rows; ++r) {
    double mx = -INFINITY, s = 0;
    for (int j = 0; j < cols; ++j) mx = std::max(mx, inp[r * cols + j]);
    for (int j = 0; j < cols; ++j) s += std::exp(inp[r * cols + j] - mx);
    for (int j = 0; j < cols; ++j) out[r * cols + j] = std::exp(inp[r * cols + j] - mx) / s;
  }
}

void SoftmaxBackward(Vec& dinp, const Vec& out, const Vec& dout, int rows, int cols) {
  dinp.assign(out.size(), 0.0);
  for (int r = 0; r < rows; ++r)
    for (int k = 0; k < cols; ++k) {
      double s = 0;
      for (int j = 0; j < cols; ++j) {
        const double jac = out[r * cols + j] * ((j == k ? 1.0 : 0.0) - out[r * cols + k]);
        s += dout[r * cols + j] * jac;
      }
      dinp[r * cols + k] = s;
    }
}

void Attention(Vec& out, const Vec& qkv, int b, int t, int nh, int hd) {
  const int c = nh * hd;
  out.assign(static_cast<size_t>(b) * t * c, 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  for (int bi = 0; bi < b; ++bi)
    for (int h = 0; h < nh; ++h) {
      Vec s(static_cast<size_t>(t) * t, -INFINITY), p;
      for (int i = 0; i < t; ++i)
        for (int j = 0; j <= i; ++j) {
          double d = 0;
          for (int e = 0; e < hd; ++e)
            d += qkv[(bi * t + i) * 3 * c + h * hd + e] * qkv[(bi * t + j) * 3 * c + c + h * hd + e];
          s[i * t + j] = d * scale;
        }
      Softmax(p, s, t, t);
      for (int i = 0; i < t; ++i)
        for (int e = 0; e < hd; ++e) {
          double o = 0;
          for (int j = 0; j < t; ++j) o += p[i * t + j] * qkv[(bi * t + j) * 3 * c + 2 * c + h * hd + e];
          out[(bi * t + i) * c + h * hd + e] = o;
        }
    }
}

void AttentionBackward(Vec& dqkv, const Vec& dout, const Vec& qkv, int b, int t, int nh, int hd) {
  const int c = nh * hd;
  dqkv.assign(qkv.size(), 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  auto Q = [&](int bi, int i, int h, int e) { return qkv[(bi * t + i) * 3 * c + h * hd + e]; };
  auto K = [&](int bi, int i, int h, int e) { return qkv[(bi * t + i) * 3 * c + c + h * hd + e]; };
  auto V = [&](int bi, int i, int h, int e) { return qkv[(bi * t + i) * 3 * c + 2 * c + h * hd + e]; };
  for (int bi = 0; bi < b; ++bi)
    for (int h = 0; h < nh; ++h) {
      Vec s(static_cast<size_t>(t) * t, -INFINITY), p;
      for (int i = 0; i < t; ++i)
        for (int j = 0; j <= i; ++j) {
          double d = 0;
          for (int e = 0; e < hd; ++e) d += Q(bi, i, h, e) * K(bi, j, h, e);
          s[i * t + j] = d * scale;
        }
      Softmax(p, s, t, t);
      Vec dp(static_cast<size_t>(t) * t, 0.0), ds;
      for (int i = 0; i < t; ++i)
        for (int j = 0; j < t; ++j) {
          double d = 0;
          for (int e = 0; e < hd; ++e) d += dout[(bi * t + i) * c + h * hd + e] * V(bi, j, h, e);
          dp[i * t + j] = d;
          for (int e = 0; e < hd; ++e)
            dqkv[(bi * t + j) * 3 * c + 2 * c + h * hd + e] += p[i * t + j] * dout[(bi * t + i) * c + h * hd + e];
        }
      SoftmaxBackward(ds, p, dp, t, t);
      for (int i = 0; i < t; ++i)
        for (int j = 0; j <= i; ++j)
          for (int e = 0; e < hd; ++e) {
            dqkv[(bi * t + i) * 3 * c + h * hd + e] += ds[i * t + j] * scale * K(bi, j, h, e);
            dqkv[(bi * t + j) * 3 * c + c + h * hd + e] += ds[i * t + j] * scale * Q(bi, i, h, e);
          }
    }
}

void CrossEntropy(Vec& losses, const Vec& logits, const std::vector<int32_t>& targets, int m, int v) {
  losses.assign(m, 0.0);
  for (int i = 0; i < m; ++i) {
    double mx = -INFINITY, s = 0;
    for (int j = 0; j < v; ++j) mx = std::max(mx, logits[i * v + j]);
    for (int j = 0; j < v; ++j) s += std::exp(logits[i * v + j] - mx);
    losses[i] = mx + std::log(s) - logits[i * v + targets[i]];
  }
}

void CrossEntropyBackward(Vec& dlogits, const Vec& logits, const std::vector<int32_t>& targets, int m, int v,
                          double scale) {
  Vec p;
  Softmax(p, logits, m, v);
  dlogits.resize(logits.size());
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < v; ++j) dlogits[i * v + j] = scale * (p[i * v + j] - (j == targets[i] ? 1.0 : 0.0));
}

void AdamW(Vec& p, const Vec& g, Vec& m, Vec& v, double lr, double b1, double b2, double eps, double wd, int64_t step,
           double grad_scale) {
  for (size_t i = 0; i < p.size(); ++i) {
    const double gi = g[i] * grad_scale;
    m[i] = b1 * m[i] + (1 - b1) * gi;
    v[i] = b2 * v[i] + (1 - b2) * gi * gi;
    const double mh = m[i] / (1 - std::pow(b1, static_cast<double>(step)));
    const double vh = v[i] / (1 - std::pow(b2, static_cast<double>(step)));
    p[i] -= lr * (mh / (std::sqrt(vh) + eps) + wd * p[i]);
  }
}

}  // namespace ogai::kernels::ref
