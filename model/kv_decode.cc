#include "model/kv_decode.h"

#include <cmath>
#include <cstring>

#include "core/check.h"
#include "kernels/cpu/gelu.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/vec_math.h"

namespace ogai::model {

namespace k = ogai::kernels;

Result<KvDecoder> KvDecoder::Create(const GPT* m, int batch) {
  const ModelLayout& lay = m->layout();
  if (lay.tp_size != 1 || !lay.first_stage || !lay.last_stage || lay.layer_begin != 0 ||
      lay.layer_end != m->config().layers) {
    return InvalidArgument("KV-cache decoding needs the whole dense model (tp = 1, one pipeline stage)");
  }
  if (batch < 1) return InvalidArgument("decoding batch must be at least 1, got " + std::to_string(batch));
  KvDecoder d;
  const ModelConfig& c = m->config();
  d.m_ = m;
  d.batch_ = batch;
  d.T_ = c.seq_len;
  d.V_ = c.vocab;
  d.L_ = c.layers;
  d.C_ = c.d_model;
  d.NH_ = c.heads;
  d.HD_ = c.d_model / c.heads;
  auto P = [&](const std::string& name) {
    const ParamSpec* s = m->FindParam(name);
    OGAI_CHECK(s != nullptr);
    return m->param_data() + s->offset;
  };
  d.wte_ = P("wte");
  d.wpe_ = P("wpe");
  d.lnf_w_ = P("lnf.w");
  d.lnf_b_ = P("lnf.b");
  for (int l = 0; l < d.L_; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    // q, k, v weights (and biases) are adjacent in the flat buffer: one [3C, C] GEMM.
    d.blocks_.push_back({P(p + "ln1.w"), P(p + "ln1.b"), P(p + "attn.q.w"), P(p + "attn.q.b"), P(p + "attn.proj.w"),
                         P(p + "attn.proj.b"), P(p + "ln2.w"), P(p + "ln2.b"), P(p + "mlp.fc.w"), P(p + "mlp.fc.b"),
                         P(p + "mlp.proj.w"), P(p + "mlp.proj.b")});
  }
  const size_t B = batch, C = d.C_, T = d.T_;
  d.k_.assign(d.L_, std::vector<float>(B * T * C));
  d.v_.assign(d.L_, std::vector<float>(B * T * C));
  d.x_.resize(B * C);
  d.ln_.resize(B * C);
  d.qkv_.resize(B * 3 * C);
  d.atty_.resize(B * C);
  d.mid_.resize(B * C);
  d.fch_.resize(B * 4 * C);
  d.gel_.resize(B * 4 * C);
  d.scores_.resize(T);
  return d;
}

Status KvDecoder::Step(const int32_t* tokens, float* logits) {
  if (pos_ >= T_) {
    return InvalidArgument("the context window is full: the model has " + std::to_string(T_) +
                           " positions (model.seq_len); ask for fewer tokens");
  }
  const int64_t B = batch_, C = C_, T = T_, hd = HD_;
  for (int64_t b = 0; b < B; ++b) {
    if (tokens[b] < 0 || tokens[b] >= V_) {
      return InvalidArgument("token " + std::to_string(tokens[b]) + " is outside the vocabulary (0.." +
                             std::to_string(V_ - 1) + ")");
    }
    const float* e = wte_ + static_cast<int64_t>(tokens[b]) * C;
    const float* p = wpe_ + static_cast<int64_t>(pos_) * C;
    for (int64_t j = 0; j < C; ++j) x_[b * C + j] = e[j] + p[j];
  }
  std::vector<float> mean(B), rstd(B);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int l = 0; l < L_; ++l) {
    const Block& w = blocks_[l];
    k::LayerNormForward(ln_.data(), mean.data(), rstd.data(), x_.data(), w.ln1_w, w.ln1_b, B, C);
    k::MatmulForward(qkv_.data(), ln_.data(), w.qkv_w, w.qkv_b, B, C, 3 * C);
    for (int64_t b = 0; b < B; ++b) {
      float* kc = k_[l].data() + (b * T) * C;
      float* vc = v_[l].data() + (b * T) * C;
      std::memcpy(kc + pos_ * C, qkv_.data() + b * 3 * C + C, sizeof(float) * C);
      std::memcpy(vc + pos_ * C, qkv_.data() + b * 3 * C + 2 * C, sizeof(float) * C);
      for (int h = 0; h < NH_; ++h) {
        const float* q = qkv_.data() + b * 3 * C + h * hd;
        float mx = -INFINITY;
        for (int j = 0; j <= pos_; ++j) {
          const float* kk = kc + j * C + h * hd;
          float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
          for (int64_t d = 0; d < hd; ++d) dot += q[d] * kk[d];
          scores_[j] = dot * scale;
          mx = scores_[j] > mx ? scores_[j] : mx;
        }
        float sum = 0.0f;
        for (int j = 0; j <= pos_; ++j) {
          scores_[j] = k::FastExp(scores_[j] - mx);
          sum += scores_[j];
        }
        const float inv = 1.0f / sum;
        float* o = atty_.data() + b * C + h * hd;
        std::memset(o, 0, sizeof(float) * hd);
        for (int j = 0; j <= pos_; ++j) {
          const float* vv = vc + j * C + h * hd;
          const float p = scores_[j] * inv;
#pragma omp simd
          for (int64_t d = 0; d < hd; ++d) o[d] += p * vv[d];
        }
      }
    }
    // Same association as GPT::Forward: x + (proj + bias).
    k::MatmulForward(mid_.data(), atty_.data(), w.proj_w, nullptr, B, C, C);
    for (int64_t i = 0; i < B * C; ++i) mid_[i] = x_[i] + (mid_[i] + w.proj_b[i % C]);
    k::LayerNormForward(ln_.data(), mean.data(), rstd.data(), mid_.data(), w.ln2_w, w.ln2_b, B, C);
    k::MatmulForward(fch_.data(), ln_.data(), w.fc_w, w.fc_b, B, C, 4 * C);
    k::GeluForward(gel_.data(), fch_.data(), B * 4 * C);
    k::MatmulForward(x_.data(), gel_.data(), w.mproj_w, nullptr, B, 4 * C, C);
    for (int64_t i = 0; i < B * C; ++i) x_[i] = mid_[i] + (x_[i] + w.mproj_b[i % C]);
  }
  k::LayerNormForward(ln_.data(), mean.data(), rstd.data(), x_.data(), lnf_w_, lnf_b_, B, C);
  k::MatmulForward(logits, ln_.data(), wte_, nullptr, B, C, V_);
  ++pos_;
  return Status::Ok();
}

Status FullForwardLogits(GPT& model, const int32_t* tokens, int b, int t, std::vector<float>* out) {
  const ModelConfig& c = model.config();
  if (model.layout().tp_size != 1 || !model.layout().first_stage || !model.layout().last_stage) {
    return InvalidArgument("full-forward logits need the whole dense model");
  }
  if (t < 1 || t > c.seq_len) {
    return InvalidArgument("a forward pass takes 1.." + std::to_string(c.seq_len) + " positions, got " +
                           std::to_string(t));
  }
  const int64_t BT = static_cast<int64_t>(b) * t;
  for (int64_t i = 0; i < BT; ++i) {
    if (tokens[i] < 0 || tokens[i] >= c.vocab) {
      return InvalidArgument("token " + std::to_string(tokens[i]) + " is outside the vocabulary (0.." +
                             std::to_string(c.vocab - 1) + ")");
    }
  }
  ActivationsPtr acts = model.NewActivations(b, t);
  std::vector<int32_t> targets(tokens, tokens + BT);  // any valid ids: the loss is not used
  double loss = 0;
  OGAI_RETURN_IF_ERROR(model.Forward(*acts, tokens, nullptr, targets.data(), 0.0f, &loss));
  const float* lg = model.Logits(*acts);
  if (lg == nullptr)
    return InvalidArgument("full-forward logits need train.recompute none or selective (full keeps no logits)");
  out->assign(lg, lg + BT * c.vocab);
  return Status::Ok();
}

}  // namespace ogai::model
