// Softmax cross-entropy over the vocabulary, fused with its gradient.
//
//   loss_i = log sum_j exp(z_ij) - z_i,target_i
//   dz_ij  = scale_i * (softmax(z_i)_j - [j == target_i])
//
// The dense form works on full rows. A vocab-parallel rank holds columns
// [vocab_begin, vocab_begin + v_local) of every row; it computes partial statistics, the
// process group combines them (max, then sum), and each rank finishes its own columns:
//
//   RowMax          m_i    = max_j z_ij             (all-reduce MAX over ranks)
//   RowSumExp       s_i    = sum_j exp(z_ij - m_i)  (all-reduce SUM)
//   TargetLogit     z_i,t  if t is local else 0     (all-reduce SUM)
//   loss_i = m_i + log s_i - z_i,t
//   SoftmaxXentGrad writes dz in place of z.
#pragma once

#include <cstdint>

namespace ogai::kernels {

// Dense: losses[M] and, when `dlogits_scale` is not null, the gradient written over `logits`
// with dlogits_scale[i] as the per-row scale (e.g. 1/tokens in the batch).
void CrossEntropyForwardBackward(float* losses, float* logits, const int32_t* targets, int64_t m, int64_t v,
                                 const float* dlogits_scale);

// Forward only (logits untouched).
void CrossEntropyForward(float* losses, const float* logits, const int32_t* targets, int64_t m, int64_t v);

// Pieces for vocab-parallel use.
void RowMax(float* row_max, const float* logits, int64_t m, int64_t v);
void RowSumExp(float* row_sum, const float* logits, const float* row_max, int64_t m, int64_t v);
void TargetLogit(float* target_logit, const float* logits, const int32_t* targets, int64_t m, int64_t v,
                 int64_t vocab_begin);
void SoftmaxXentGrad(float* logits, const int32_t* targets, const float* row_max, const float* row_sum,
                     const float* scale, int64_t m, int64_t v, int64_t vocab_begin);

}  // namespace ogai::kernels
