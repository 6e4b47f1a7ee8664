// The head of the last stage: final LayerNorm, logits, cross-entropy (model/head.h).
#include "model/head.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "kernels/cpu/crossentropy.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/matmul.h"
#include "model/gpt.h"

namespace ogai::model {

namespace k = ogai::kernels;

namespace {
Buffer F(int64_t n) { return Buffer(static_cast<size_t>(n) * sizeof(float), MemCategory::kActivations); }
}  // namespace

void GPT::NewHead(HeadActs& h, int64_t BT) const {
  h.lnf = F(BT * C_);
  h.lnf_mean = F(BT);
  h.lnf_rstd = F(BT);
  if (recompute_ == Recompute::kFull) {
    OGAI_CHECK(head_chunk_rows_ >= 1);
    h.chunk_rows = std::min<int64_t>(head_chunk_rows_, BT);
    // Backward's column chunk holds no more than forward's row chunk: BT x Vc <= R x Vl.
    h.chunk_vocab = std::clamp<int64_t>(h.chunk_rows * Vl_ / BT, 1, Vl_);
    h.logits = F(std::max(h.chunk_rows * Vl_, BT * h.chunk_vocab));
  } else {
    h.chunk_rows = 0;
    h.chunk_vocab = 0;
    h.logits = F(BT * Vl_);
  }
  h.row_max = F(BT);
  h.row_sum = F(BT);
  h.target_logit = F(BT);
  h.losses = F(BT);
  h.scale = F(BT);
}

Status GPT::HeadForward(HeadActs& h, const float* x, const int32_t* targets, int64_t BT, float grad_scale,
                        double* loss_sum) {
  const int64_t C = C_;
  h.grad_ready = false;
  float* lnf = h.lnf.as<float>();
  k::LayerNormForward(lnf, h.lnf_mean.as<float>(), h.lnf_rstd.as<float>(), x, P(lnf_w_), P(lnf_b_), BT, C);
  float* losses = h.losses.as<float>();
  float* scale = h.scale.as<float>();
  float* mx = h.row_max.as<float>();
  float* sum = h.row_sum.as<float>();
  float* tl = h.target_logit.as<float>();
  for (int64_t i = 0; i < BT; ++i) scale[i] = grad_scale;
  const bool chunked = h.chunk_rows > 0;
  const bool grad = grad_scale > 0;
  const int64_t R = chunked ? h.chunk_rows : BT;
  std::vector<float> packed;
  for (int64_t r0 = 0; r0 < BT; r0 += R) {
    const int64_t n = std::min(R, BT - r0);
    float* z = h.logits.as<float>();  // this chunk's logits [n, Vl] (all of them unchunked)
    Linear(z, lnf + r0 * C, wte_, nullptr, n, C, Vl_);
    if (layout_.tp_size == 1 && !chunked) {
      k::CrossEntropyForwardBackward(losses, z, targets, BT, Vl_, grad ? scale : nullptr);
      continue;
    }
    k::RowMax(mx + r0, z, n, Vl_);
    if (layout_.tp_size > 1) OGAI_RETURN_IF_ERROR(tp_->AllReduceMax(mx + r0, n));
    k::RowSumExp(sum + r0, z, mx + r0, n, Vl_);
    k::TargetLogit(tl + r0, z, targets + r0, n, Vl_, V0_);
    if (layout_.tp_size > 1) {
      // One all-reduce for both sums: pack [sum | target] contiguously.
      packed.resize(2 * n);
      std::memcpy(packed.data(), sum + r0, sizeof(float) * n);
      std::memcpy(packed.data() + n, tl + r0, sizeof(float) * n);
      OGAI_RETURN_IF_ERROR(tp_->AllReduceSum(packed.data(), 2 * n));
      std::memcpy(sum + r0, packed.data(), sizeof(float) * n);
      std::memcpy(tl + r0, packed.data() + n, sizeof(float) * n);
    }
    for (int64_t i = r0; i < r0 + n; ++i) losses[i] = mx[i] + std::log(sum[i]) - tl[i];
    // Unchunked, the gradient replaces the logits now; chunked, backward recomputes them.
    if (grad && !chunked) k::SoftmaxXentGrad(z, targets, mx, sum, scale, BT, Vl_, V0_);
  }
  h.grad_ready = grad;
  double s = 0.0;
  for (int64_t i = 0; i < BT; ++i) s += losses[i];
  if (loss_sum != nullptr) *loss_sum = s;
  return Status::Ok();
}

Status GPT::HeadBackward(HeadActs& h, const float* x, const int32_t* targets, int64_t BT, float* dln, float* dres,
                         bool acc) {
  const int64_t C = C_;
  if (!h.grad_ready) return Internal("Backward on the last stage needs Forward with grad_scale > 0");
  const float* lnf = h.lnf.as<float>();
  if (h.chunk_rows == 0) {
    // logits = lnf . wte^T  ->  dlnf = dlogits . wte, dwte += dlogits^T . lnf
    LinearBackward(dln, G(wte_), nullptr, h.logits.as<float>(), lnf, wte_, BT, C, Vl_, acc);
  } else {
    const bool bf16 = precision_ == Precision::kBf16;
    float* z = h.logits.as<float>();
    for (int64_t v0 = 0; v0 < Vl_; v0 += h.chunk_vocab) {
      const int64_t nv = std::min(h.chunk_vocab, Vl_ - v0);
      // Columns [v0, v0 + nv) of the logits, then their gradient in place, from the kept
      // row statistics (global over the TP group).
      if (bf16) {
        k::MatmulForwardBf16(z, lnf, PB(wte_) + v0 * C, nullptr, BT, C, nv);
      } else {
        k::MatmulForward(z, lnf, P(wte_) + v0 * C, nullptr, BT, C, nv);
      }
      k::SoftmaxXentGrad(z, targets, h.row_max.as<float>(), h.row_sum.as<float>(), h.scale.as<float>(), BT, nv,
                         V0_ + v0);
      // wte rows [v0, v0 + nv): their whole gradient; dlnf: this chunk's part, added in order.
      if (bf16) {
        k::MatmulBackwardBf16(dln, G(wte_) + v0 * C, nullptr, z, lnf, PB(wte_) + v0 * C, BT, C, nv, v0 > 0, acc);
      } else {
        k::MatmulBackward(dln, G(wte_) + v0 * C, nullptr, z, lnf, P(wte_) + v0 * C, BT, C, nv, v0 > 0, acc);
      }
    }
  }
  OGAI_RETURN_IF_ERROR(TpSum(dln, BT * C));
  std::memset(dres, 0, sizeof(float) * BT * C);
  k::LayerNormBackward(dres, G(lnf_w_), G(lnf_b_), dln, x, P(lnf_w_), h.lnf_mean.as<float>(), h.lnf_rstd.as<float>(),
                       BT, C, acc);
  return Status::Ok();
}

}  // namespace ogai::model
