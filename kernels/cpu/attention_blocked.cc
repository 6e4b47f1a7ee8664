// Blocked (flash-attention style) causal attention; see attention.h.
//
// Forward, per (batch, head, query tile of kAttentionTile rows), one thread:
//   for each key tile up to the diagonal:  S = s Q_i K_j^T           (SgemmTile)
//     online softmax per row: m' = max(m, rowmax S), O *= e^(m-m'), l = l e^(m-m') + sum e^(S-m')
//     O += e^(S-m') V_j                                               (SgemmTile)
//   O /= l;  lse = m + log l
// Key tiles wholly above the diagonal are never visited; in the diagonal tile the masked
// entries get probability 0.
//
// Backward, per (batch, head), one thread, query tiles in order and key tiles up to the
// diagonal in order (so every sum has a fixed order and the bits do not depend on threads):
//   S = s Q_i K_j^T;  P = e^(S - lse_i) (masked to 0);  dP = dO_i V_j^T
//   dV_j += P^T dO_i;  dS = s P (dP - D_i);  dQ_i += dS K_j;  dK_j += dS^T Q_i
// with D = rowsum(dO * O) computed once per head. No T x T matrix exists at any point.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vec_math.h"

namespace ogai::kernels {

namespace {
constexpr int64_t kT = kAttentionTile;

// Number of valid (unmasked) columns of row `i` in the key tile starting at k0 with nk keys.
inline int64_t ValidCols(int64_t i, int64_t k0, int64_t nk) { return std::min(nk, i - k0 + 1); }
}  // namespace

void AttentionForwardBlocked(float* out, float* lse, const float* qkv, int64_t b, int64_t t, int64_t nh, int64_t hd) {
  const int64_t c = nh * hd, c3 = 3 * c;
  const int64_t tiles = (t + kT - 1) / kT;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
#pragma omp parallel
  {
    std::vector<float> s(static_cast<size_t>(kT * kT)), m(kT), l(kT);
    // Tiles near the end of the sequence have more keys; dynamic scheduling balances them.
    // Each task is computed by one thread, so the schedule does not change any result.
#pragma omp for collapse(3) schedule(dynamic, 1)
    for (int64_t bi = 0; bi < b; ++bi) {
      for (int64_t h = 0; h < nh; ++h) {
        for (int64_t qt = 0; qt < tiles; ++qt) {
          const float* base = qkv + bi * t * c3;
          const int64_t q0 = qt * kT, nq = std::min(t, q0 + kT) - q0;
          const float* q = base + q0 * c3 + h * hd;
          float* o = out + (bi * t + q0) * c + h * hd;
          for (int64_t r = 0; r < nq; ++r) {
            std::memset(o + r * c, 0, sizeof(float) * hd);
            m[r] = -INFINITY;
            l[r] = 0.0f;
          }
          for (int64_t kt = 0; kt <= qt; ++kt) {
            const int64_t k0 = kt * kT, nk = std::min(t, k0 + kT) - k0;
            const float* k = base + k0 * c3 + c + h * hd;
            const float* v = base + k0 * c3 + 2 * c + h * hd;
            SgemmTile(false, true, nq, nk, hd, scale, q, c3, k, c3, 0.0f, s.data(), kT);
            for (int64_t r = 0; r < nq; ++r) {
              float* sr = s.data() + r * kT;
              const int64_t valid = kt == qt ? ValidCols(q0 + r, k0, nk) : nk;
              float mx = m[r];
              for (int64_t j = 0; j < valid; ++j) mx = sr[j] > mx ? sr[j] : mx;
              float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
              for (int64_t j = 0; j < valid; ++j) {
                sr[j] = FastExp(sr[j] - mx);
                sum += sr[j];
              }
              for (int64_t j = valid; j < nk; ++j) sr[j] = 0.0f;
              if (kt > 0 && mx != m[r]) {
                const float alpha = FastExp(m[r] - mx);
                float* orow = o + r * c;
#pragma omp simd
                for (int64_t d = 0; d < hd; ++d) orow[d] *= alpha;
                l[r] *= alpha;
              }
              l[r] += sum;
              m[r] = mx;
            }
            SgemmTile(false, false, nq, hd, nk, 1.0f, s.data(), kT, v, c3, 1.0f, o, c);
          }
          for (int64_t r = 0; r < nq; ++r) {
            const float inv = 1.0f / l[r];
            float* orow = o + r * c;
#pragma omp simd
            for (int64_t d = 0; d < hd; ++d) orow[d] *= inv;
            lse[(bi * nh + h) * t + q0 + r] = m[r] + std::log(l[r]);
          }
        }
      }
    }
  }
}

void AttentionBackwardBlocked(float* dqkv, const float* dout, const float* out, const float* lse, const float* qkv,
                              int64_t b, int64_t t, int64_t nh, int64_t hd) {
  const int64_t c = nh * hd, c3 = 3 * c;
  const int64_t tiles = (t + kT - 1) / kT;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
#pragma omp parallel
  {
    std::vector<float> p(static_cast<size_t>(kT * kT)), dp(static_cast<size_t>(kT * kT)), dsum(static_cast<size_t>(t));
#pragma omp for collapse(2) schedule(static)
    for (int64_t bi = 0; bi < b; ++bi) {
      for (int64_t h = 0; h < nh; ++h) {
        const float* base = qkv + bi * t * c3;
        float* dbase = dqkv + bi * t * c3;
        const float* l = lse + (bi * nh + h) * t;
        for (int64_t i = 0; i < t; ++i) {
          float* row = dbase + i * c3 + h * hd;
          std::memset(row, 0, sizeof(float) * hd);
          std::memset(row + c, 0, sizeof(float) * hd);
          std::memset(row + 2 * c, 0, sizeof(float) * hd);
          const float* o = out + (bi * t + i) * c + h * hd;
          const float* g = dout + (bi * t + i) * c + h * hd;
          float di = 0.0f;
#pragma omp simd reduction(+ : di)
          for (int64_t d = 0; d < hd; ++d) di += g[d] * o[d];
          dsum[i] = di;
        }
        for (int64_t qt = 0; qt < tiles; ++qt) {
          const int64_t q0 = qt * kT, nq = std::min(t, q0 + kT) - q0;
          const float* q = base + q0 * c3 + h * hd;
          const float* g = dout + (bi * t + q0) * c + h * hd;
          float* dq = dbase + q0 * c3 + h * hd;
          for (int64_t kt = 0; kt <= qt; ++kt) {
            const int64_t k0 = kt * kT, nk = std::min(t, k0 + kT) - k0;
            const float* k = base + k0 * c3 + c + h * hd;
            const float* v = base + k0 * c3 + 2 * c + h * hd;
            float* dk = dbase + k0 * c3 + c + h * hd;
            float* dv = dbase + k0 * c3 + 2 * c + h * hd;
            SgemmTile(false, true, nq, nk, hd, scale, q, c3, k, c3, 0.0f, p.data(), kT);
            SgemmTile(false, true, nq, nk, hd, 1.0f, g, c, v, c3, 0.0f, dp.data(), kT);
            for (int64_t r = 0; r < nq; ++r) {
              float* pr = p.data() + r * kT;
              float* dpr = dp.data() + r * kT;
              const int64_t valid = kt == qt ? ValidCols(q0 + r, k0, nk) : nk;
              const float li = l[q0 + r], di = dsum[q0 + r];
#pragma omp simd
              for (int64_t j = 0; j < valid; ++j) {
                pr[j] = FastExp(pr[j] - li);
                dpr[j] = pr[j] * (dpr[j] - di) * scale;
              }
              for (int64_t j = valid; j < nk; ++j) pr[j] = dpr[j] = 0.0f;
            }
            SgemmTile(true, false, nk, hd, nq, 1.0f, p.data(), kT, g, c, 1.0f, dv, c3);
            SgemmTile(false, false, nq, hd, nk, 1.0f, dp.data(), kT, k, c3, 1.0f, dq, c3);
            SgemmTile(true, false, nk, hd, nq, 1.0f, dp.data(), kT, q, c3, 1.0f, dk, c3);
          }
        }
      }
    }
  }
}

}  // namespace ogai::kernels
