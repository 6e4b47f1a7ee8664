// The row-at-a-time attention: one query row against every key with vector dot products.
// Kept as the baseline `ogai-bench train --baseline attention=rowwise` measures against and
// as a second implementation for the tests; the blocked kernel (attention_blocked.cc) is the
// default.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/vec_math.h"

namespace ogai::kernels {

void AttentionForwardRowwise(float* out, float* lse, const float* qkv, int64_t b, int64_t t, int64_t nh, int64_t hd) {
  const int64_t c = nh * hd, c3 = 3 * c;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
#pragma omp parallel
  {
    std::vector<float> s(static_cast<size_t>(t));
#pragma omp for collapse(2) schedule(static)
    for (int64_t bi = 0; bi < b; ++bi) {
      for (int64_t h = 0; h < nh; ++h) {
        const float* base = qkv + bi * t * c3;
        for (int64_t i = 0; i < t; ++i) {
          const float* q = base + i * c3 + h * hd;
          float mx = -INFINITY;
          for (int64_t j = 0; j <= i; ++j) {
            const float* k = base + j * c3 + c + h * hd;
            float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
            for (int64_t d = 0; d < hd; ++d) dot += q[d] * k[d];
            s[j] = dot * scale;
            mx = s[j] > mx ? s[j] : mx;
          }
          float sum = 0.0f;
          for (int64_t j = 0; j <= i; ++j) {
            s[j] = FastExp(s[j] - mx);
            sum += s[j];
          }
          const float inv = 1.0f / sum;
          float* o = out + (bi * t + i) * c + h * hd;
          std::memset(o, 0, sizeof(float) * hd);
          for (int64_t j = 0; j <= i; ++j) {
            const float* v = base + j * c3 + 2 * c + h * hd;
            const float p = s[j] * inv;
#pragma omp simd
            for (int64_t d = 0; d < hd; ++d) o[d] += p * v[d];
          }
          lse[(bi * nh + h) * t + i] = mx + std::log(sum);
        }
      }
    }
  }
}

void AttentionBackwardRowwise(float* dqkv, const float* dout, const float* out, const float* lse, const float* qkv,
                              int64_t b, int64_t t, int64_t nh, int64_t hd) {
  const int64_t c = nh * hd, c3 = 3 * c;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
#pragma omp parallel
  {
    std::vector<float> p(static_cast<size_t>(t));
#pragma omp for collapse(2) schedule(static)
    for (int64_t bi = 0; bi < b; ++bi) {
      for (int64_t h = 0; h < nh; ++h) {
        const float* base = qkv + bi * t * c3;
        float* dbase = dqkv + bi * t * c3;
        for (int64_t i = 0; i < t; ++i) {
          std::memset(dbase + i * c3 + h * hd, 0, sizeof(float) * hd);
          std::memset(dbase + i * c3 + c + h * hd, 0, sizeof(float) * hd);
          std::memset(dbase + i * c3 + 2 * c + h * hd, 0, sizeof(float) * hd);
        }
        for (int64_t i = 0; i < t; ++i) {
          const float* q = base + i * c3 + h * hd;
          const float* o = out + (bi * t + i) * c + h * hd;
          const float* dO = dout + (bi * t + i) * c + h * hd;
          float* dq = dbase + i * c3 + h * hd;
          const float l = lse[(bi * nh + h) * t + i];
          float di = 0.0f;
#pragma omp simd reduction(+ : di)
          for (int64_t d = 0; d < hd; ++d) di += dO[d] * o[d];
          for (int64_t j = 0; j <= i; ++j) {
            const float* k = base + j * c3 + c + h * hd;
            const float* v = base + j * c3 + 2 * c + h * hd;
            float sdot = 0.0f, dp = 0.0f;
#pragma omp simd reduction(+ : sdot, dp)
            for (int64_t d = 0; d < hd; ++d) {
              sdot += q[d] * k[d];
              dp += dO[d] * v[d];
            }
            const float pij = FastExp(sdot * scale - l);
            const float ds = pij * (dp - di) * scale;
            float* dk = dbase + j * c3 + c + h * hd;
            float* dv = dbase + j * c3 + 2 * c + h * hd;
#pragma omp simd
            for (int64_t d = 0; d < hd; ++d) {
              dv[d] += pij * dO[d];
              dq[d] += ds * k[d];
              dk[d] += ds * q[d];
            }
          }
        }
      }
    }
  }
}

}  // namespace ogai::kernels
