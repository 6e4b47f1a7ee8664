#include "model/gpt.h"

#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/rng.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/gelu.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/matmul.h"
#include "model/head.h"

namespace ogai::model {

namespace k = ogai::kernels;

// ---- activations -----------------------------------------------------------------

struct LayerActs {
  Buffer x_in;  // [BT, C] block input (residual stream)
  Buffer ln1, ln1_mean, ln1_rstd;
  Buffer qkv;    // [BT, 3 Cl]
  Buffer atty;   // [BT, Cl]
  Buffer lse;    // [B, NHl, T]
  Buffer x_mid;  // [BT, C] after the attention residual
  Buffer ln2, ln2_mean, ln2_rstd;
  Buffer fch;       // [BT, Fl] MLP-up output, pre-GELU
  Buffer fch_gelu;  // [BT, Fl]
};

// Pointers to one block's activations: the block's own buffers, or the shared scratch for
// what the recompute mode does not keep.
struct LayerView {
  float *x_in, *ln1, *ln1_mean, *ln1_rstd, *qkv, *atty, *lse, *x_mid, *ln2, *ln2_mean, *ln2_rstd, *fch, *fch_gelu;
};

struct Activations {
  int b = 0;
  int t = 0;  // positions per sequence (model.seq_len unless a shorter window was asked for)
  Recompute recompute = Recompute::kNone;
  LayerActs scratch;     // what the blocks do not keep (selective, full), one block's worth
  Buffer recompute_out;  // full: the recomputed block's output, not needed again
  LayerView View(size_t li) {
    LayerActs& L = layers[li];
    auto pick = [&](Buffer& own, Buffer& shared) { return own.empty() ? shared.as<float>() : own.as<float>(); };
    LayerActs& S = scratch;
    return {L.x_in.as<float>(),           pick(L.ln1, S.ln1),           pick(L.ln1_mean, S.ln1_mean),
            pick(L.ln1_rstd, S.ln1_rstd), pick(L.qkv, S.qkv),           pick(L.atty, S.atty),
            pick(L.lse, S.lse),           pick(L.x_mid, S.x_mid),       pick(L.ln2, S.ln2),
            pick(L.ln2_mean, S.ln2_mean), pick(L.ln2_rstd, S.ln2_rstd), pick(L.fch, S.fch),
            pick(L.fch_gelu, S.fch_gelu)};
  }
  std::vector<int32_t> tokens, targets;
  std::vector<LayerActs> layers;
  Buffer x_out;   // [BT, C] output of the last block here
  HeadActs head;  // last stage (model/head.h)
  // Backward scratch.
  Buffer dres, dln, dqkv, datty, dfch;
};

namespace {
Buffer F(int64_t n) { return Buffer(static_cast<size_t>(n) * sizeof(float), MemCategory::kActivations); }
}  // namespace

// ---- construction ------------------------------------------------------------------

GPT::GPT(const ModelConfig& cfg, const ModelLayout& layout) : cfg_(cfg), layout_(layout) {}
GPT::~GPT() = default;

Result<std::unique_ptr<GPT>> GPT::Create(const ModelConfig& cfg, const ModelLayout& layout_in) {
  ModelLayout layout = layout_in;
  if (layout.layer_end < 0) layout.layer_end = cfg.layers;
  const int tp = layout.tp_size;
  if (tp < 1 || layout.tp_rank < 0 || layout.tp_rank >= tp) {
    return InvalidArgument("tensor-parallel rank " + std::to_string(layout.tp_rank) + " of " + std::to_string(tp) +
                           " is out of range");
  }
  if (cfg.heads % tp != 0) {
    return InvalidArgument("model.heads = " + std::to_string(cfg.heads) + " is not divisible by parallel.tp = " +
                           std::to_string(tp) + "; pick a tp that divides the number of heads");
  }
  if (cfg.vocab % tp != 0) {
    return InvalidArgument(
        "model.vocab = " + std::to_string(cfg.vocab) + " is not divisible by parallel.tp = " + std::to_string(tp) +
        "; pad the vocabulary to a multiple of tp (e.g. " + std::to_string((cfg.vocab + tp - 1) / tp * tp) + ")");
  }
  if (layout.layer_begin < 0 || layout.layer_begin > layout.layer_end || layout.layer_end > cfg.layers) {
    return InvalidArgument("pipeline stage layers [" + std::to_string(layout.layer_begin) + ", " +
                           std::to_string(layout.layer_end) +
                           ") do not fit model.layers = " + std::to_string(cfg.layers));
  }
  std::unique_ptr<GPT> m(new GPT(cfg, layout));
  const int64_t C = cfg.d_model;
  m->C_ = C;
  m->Cl_ = C / tp;
  m->Fl_ = 4 * C / tp;
  m->NHl_ = cfg.heads / tp;
  m->HD_ = C / cfg.heads;
  m->Vl_ = cfg.vocab / tp;
  m->V0_ = m->Vl_ * layout.tp_rank;

  const bool has_wte = layout.first_stage || layout.last_stage;
  if (has_wte) {
    m->wte_ = static_cast<int>(m->params_.size());
    m->AddParam("wte", {cfg.vocab, C}, 0, true, -1);
  }
  if (layout.first_stage) {
    m->wpe_ = static_cast<int>(m->params_.size());
    m->AddParam("wpe", {cfg.seq_len, C}, -1, true, -1);
  }
  for (int l = layout.layer_begin; l < layout.layer_end; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    BlockParams b{};
    auto add = [&](const char* name, std::vector<int64_t> shape, int dim, bool decay, bool pad = true) {
      int idx = static_cast<int>(m->params_.size());
      m->AddParam(p + name, std::move(shape), dim, decay, l, pad);
      return idx;
    };
    b.ln1_w = add("ln1.w", {C}, -1, false);
    b.ln1_b = add("ln1.b", {C}, -1, false);
    // q, k, v weights then biases, adjacent: together they are one [3 Cl, C] GEMM.
    b.q_w = add("attn.q.w", {C, C}, 0, true, false);
    b.k_w = add("attn.k.w", {C, C}, 0, true, false);
    b.v_w = add("attn.v.w", {C, C}, 0, true);
    b.q_b = add("attn.q.b", {C}, 0, false, false);
    b.k_b = add("attn.k.b", {C}, 0, false, false);
    b.v_b = add("attn.v.b", {C}, 0, false);
    b.proj_w = add("attn.proj.w", {C, C}, 1, true);
    b.proj_b = add("attn.proj.b", {C}, -1, false);
    b.ln2_w = add("ln2.w", {C}, -1, false);
    b.ln2_b = add("ln2.b", {C}, -1, false);
    b.fc_w = add("mlp.fc.w", {4 * C, C}, 0, true);
    b.fc_b = add("mlp.fc.b", {4 * C}, 0, false);
    b.mproj_w = add("mlp.proj.w", {C, 4 * C}, 1, true);
    b.mproj_b = add("mlp.proj.b", {C}, -1, false);
    m->blocks_.push_back(b);
  }
  if (layout.last_stage) {
    m->lnf_w_ = static_cast<int>(m->params_.size());
    m->AddParam("lnf.w", {C}, -1, false, -1);
    m->lnf_b_ = static_cast<int>(m->params_.size());
    m->AddParam("lnf.b", {C}, -1, false, -1);
  }
  for (size_t i = 0; i < m->params_.size(); ++i) {
    const int64_t next = i + 1 < m->params_.size() ? m->params_[i + 1].offset : m->num_params_;
    m->params_[i].extent = next - m->params_[i].offset;
  }
  m->params_buf_ = Buffer(static_cast<size_t>(m->num_params_) * sizeof(float), MemCategory::kParameters);
  m->grads_buf_ = Buffer(static_cast<size_t>(m->num_params_) * sizeof(float), MemCategory::kGradients);
  return m;
}

void GPT::AddParam(const std::string& name, std::vector<int64_t> global_shape, int shard_dim, bool decay, int layer,
                   bool pad) {
  ParamSpec s;
  s.name = name;
  s.global_shape = global_shape;
  s.shard_dim = layout_.tp_size > 1 ? shard_dim : -1;
  s.local_shape = global_shape;
  if (s.shard_dim >= 0) {
    const int64_t per = global_shape[s.shard_dim] / layout_.tp_size;
    s.local_shape[s.shard_dim] = per;
    s.shard_begin = per * layout_.tp_rank;
  }
  s.numel = 1;
  for (int64_t d : s.local_shape) s.numel *= d;
  // Keep tensors 64-byte aligned in the flat buffer (except inside the fused q, k, v).
  s.offset = num_params_;
  num_params_ += pad ? (s.numel + 15) / 16 * 16 : s.numel;
  s.decay = decay;
  s.layer = layer;
  params_.push_back(std::move(s));
}

const ParamSpec* GPT::FindParam(const std::string& name) const {
  for (const auto& p : params_)
    if (p.name == name) return &p;
  return nullptr;
}

void GPT::Init(uint64_t seed) {
  const double proj_std = cfg_.init_std / std::sqrt(2.0 * cfg_.layers);
  for (const auto& s : params_) {
    float* dst = param_data() + s.offset;
    const std::string& n = s.name;
    auto ends_with = [&](const char* suf) {
      size_t L = std::strlen(suf);
      return n.size() >= L && n.compare(n.size() - L, L, suf) == 0;
    };
    if (ends_with(".b")) {
      std::memset(dst, 0, sizeof(float) * s.numel);
      continue;
    }
    if (n.find("ln") != std::string::npos) {  // ln1.w, ln2.w, lnf.w
      for (int64_t i = 0; i < s.numel; ++i) dst[i] = 1.0f;
      continue;
    }
    const double std = (ends_with("attn.proj.w") || ends_with("mlp.proj.w")) ? proj_std : cfg_.init_std;
    uint64_t stream = 1469598103934665603ull;  // FNV-1a of the name
    for (char ch : n) stream = (stream ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
    // Map each local element to its global index.
    const int64_t rows = s.local_shape[0];
    const int64_t cols = s.local_shape.size() > 1 ? s.local_shape[1] : 1;
    const int64_t gcols = s.global_shape.size() > 1 ? s.global_shape[1] : 1;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t gr = s.shard_dim == 0 ? r + s.shard_begin : r;
        const int64_t gc = s.shard_dim == 1 ? c + s.shard_begin : c;
        dst[r * cols + c] =
            static_cast<float>(std * HashedNormal(seed, stream, static_cast<uint64_t>(gr * gcols + gc)));
      }
    }
  }
}

void GPT::ZeroGrads() { std::memset(grad_data(), 0, sizeof(float) * num_params_); }

void ActivationsDeleter::operator()(Activations* a) const { delete a; }

ActivationsPtr GPT::NewActivations(int b, int t) const {
  ActivationsPtr a(new Activations());
  OGAI_CHECK(t >= 0 && t <= cfg_.seq_len);
  const int64_t T = t > 0 ? t : cfg_.seq_len, BT = static_cast<int64_t>(b) * T, C = C_;
  a->b = b;
  a->t = static_cast<int>(T);
  a->tokens.resize(BT);
  a->targets.resize(BT);
  a->recompute = recompute_;
  a->layers.resize(blocks_.size());
  // keep(name): whether each block keeps this activation (else the shared scratch holds it).
  const bool sel = recompute_ == Recompute::kSelective, full = recompute_ == Recompute::kFull;
  auto alloc = [&](LayerActs& L, bool all) {
    auto want = [&](bool keep_selective) { return all || (!full && (!sel || keep_selective)); };
    L.x_in = F(BT * C);
    if (want(false)) L.ln1 = F(BT * C);
    if (want(true)) L.ln1_mean = F(BT);
    if (want(true)) L.ln1_rstd = F(BT);
    if (want(true)) L.qkv = F(BT * 3 * Cl_);
    if (want(true)) L.atty = F(BT * Cl_);
    if (want(true)) L.lse = F(b * NHl_ * T);
    if (want(true)) L.x_mid = F(BT * C);
    if (want(false)) L.ln2 = F(BT * C);
    if (want(true)) L.ln2_mean = F(BT);
    if (want(true)) L.ln2_rstd = F(BT);
    if (want(true)) L.fch = F(BT * Fl_);
    if (want(false)) L.fch_gelu = F(BT * Fl_);
  };
  for (auto& L : a->layers) alloc(L, false);
  if (sel) {
    a->scratch.ln1 = F(BT * C);
    a->scratch.ln2 = F(BT * C);
    a->scratch.fch_gelu = F(BT * Fl_);
  } else if (full && !blocks_.empty()) {
    alloc(a->scratch, true);
    a->scratch.x_in = Buffer();
    a->recompute_out = F(BT * C);
  }
  a->x_out = F(BT * C);
  if (layout_.last_stage) NewHead(a->head, BT);
  a->dres = F(BT * C);
  a->dln = F(BT * C);
  a->dqkv = F(BT * 3 * Cl_);
  a->datty = F(BT * Cl_);
  a->dfch = F(BT * Fl_);
  return a;
}

Status GPT::TpSum(float* data, int64_t n) {
  if (tp_ == nullptr || layout_.tp_size == 1) return Status::Ok();
  return tp_->AllReduceSum(data, n);
}

Status GPT::SetPrecision(Precision p) {
  if (p == Precision::kBf16) {
    OGAI_RETURN_IF_ERROR(k::Bf16Available().WithContext("train.precision=bf16"));
    if (params_bf16_.empty()) {
      params_bf16_ = Buffer(static_cast<size_t>(num_params_) * sizeof(uint16_t), MemCategory::kParameters);
    }
    // Convert now rather than in the next Forward: a benchmark that switches precision between
    // steps then does not time this one-off sweep (training keeps the copy current in AdamW).
    k::ToBf16(params_bf16_.as<uint16_t>(), params_buf_.as<float>(), num_params_);
    bf16_stale_ = false;
  }
  precision_ = p;
  return Status::Ok();
}

void GPT::Linear(float* out, const float* inp, int w, const float* bias, int64_t rows, int64_t in,
                 int64_t out_features) {
  if (precision_ == Precision::kBf16) {
    k::MatmulForwardBf16(out, inp, PB(w), bias, rows, in, out_features);
  } else {
    k::MatmulForward(out, inp, P(w), bias, rows, in, out_features);
  }
}

void GPT::LinearBackward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, int w,
                         int64_t rows, int64_t in, int64_t out_features, bool accumulate) {
  if (precision_ == Precision::kBf16) {
    k::MatmulBackwardBf16(dinp, dweight, dbias, dout, inp, PB(w), rows, in, out_features, false, accumulate);
  } else {
    k::MatmulBackward(dinp, dweight, dbias, dout, inp, P(w), rows, in, out_features, false, accumulate);
  }
}

// ---- forward -------------------------------------------------------------------------

Status GPT::BlockForward(const BlockParams& p, const LayerView& L, float* x_out, int64_t B, int64_t T) {
  const int64_t BT = B * T, C = C_;
  float* x_in = L.x_in;
  k::LayerNormForward(L.ln1, L.ln1_mean, L.ln1_rstd, x_in, P(p.ln1_w), P(p.ln1_b), BT, C);
  Linear(L.qkv, L.ln1, p.q_w, P(p.q_b), BT, C, 3 * Cl_);
  k::AttentionForward(L.atty, L.lse, L.qkv, B, T, NHl_, HD_);
  float* proj = L.x_mid;  // the projection is built in x_mid, then x_in added
  // One rank, fp32: bias and residual fused into the GEMM; otherwise after the TP sum.
  const bool fuse = precision_ == Precision::kFp32 && layout_.tp_size == 1;
  if (fuse) {
    k::MatmulForwardResidual(proj, L.atty, P(p.proj_w), P(p.proj_b), x_in, BT, Cl_, C);
  } else {
    Linear(proj, L.atty, p.proj_w, nullptr, BT, Cl_, C);
    OGAI_RETURN_IF_ERROR(TpSum(proj, BT * C));
    const float* bias = P(p.proj_b);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < BT; ++i) {
      float* r = proj + i * C;
      const float* xi = x_in + i * C;
#pragma omp simd
      for (int64_t j = 0; j < C; ++j) r[j] = xi[j] + (r[j] + bias[j]);
    }
  }
  k::LayerNormForward(L.ln2, L.ln2_mean, L.ln2_rstd, L.x_mid, P(p.ln2_w), P(p.ln2_b), BT, C);
  if (precision_ == Precision::kBf16) {
    Linear(L.fch, L.ln2, p.fc_w, P(p.fc_b), BT, C, Fl_);
    k::GeluForward(L.fch_gelu, L.fch, BT * Fl_);
  } else {  // the bias and GELU fused into the GEMM (same bits as the separate passes)
    k::MatmulForwardGelu(L.fch, L.fch_gelu, L.ln2, P(p.fc_w), P(p.fc_b), BT, C, Fl_);
  }
  if (fuse) {
    k::MatmulForwardResidual(x_out, L.fch_gelu, P(p.mproj_w), P(p.mproj_b), L.x_mid, BT, Fl_, C);
  } else {
    Linear(x_out, L.fch_gelu, p.mproj_w, nullptr, BT, Fl_, C);
    OGAI_RETURN_IF_ERROR(TpSum(x_out, BT * C));
    const float* bias = P(p.mproj_b);
    const float* xm = L.x_mid;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < BT; ++i) {
      float* r = x_out + i * C;
      const float* xi = xm + i * C;
#pragma omp simd
      for (int64_t j = 0; j < C; ++j) r[j] = xi[j] + (r[j] + bias[j]);
    }
  }
  return Status::Ok();
}

Status GPT::Forward(Activations& a, const int32_t* tokens, const float* input, const int32_t* targets, float grad_scale,
                    double* loss_sum) {
  const int64_t B = a.b, T = a.t, BT = B * T, C = C_;
  a.head.grad_ready = false;
  if (precision_ == Precision::kBf16 && bf16_stale_) {
    k::ToBf16(params_bf16_.as<uint16_t>(), params_buf_.as<float>(), num_params_);
    bf16_stale_ = false;
  }
  // The block input of the first layer here (or x_out when this stage has no blocks).
  float* x = a.layers.empty() ? a.x_out.as<float>() : a.layers[0].x_in.as<float>();
  if (layout_.first_stage) {
    std::memcpy(a.tokens.data(), tokens, sizeof(int32_t) * BT);
    k::EmbeddingLookup(x, tokens, P(wte_), BT, C, V0_, V0_ + Vl_);
    OGAI_RETURN_IF_ERROR(TpSum(x, BT * C));
    k::PositionAdd(x, P(wpe_), B, T, C);
  } else {
    std::memcpy(x, input, sizeof(float) * BT * C);
  }
  for (size_t li = 0; li < blocks_.size(); ++li) {
    float* x_out = li + 1 < blocks_.size() ? a.layers[li + 1].x_in.as<float>() : a.x_out.as<float>();
    OGAI_RETURN_IF_ERROR(BlockForward(blocks_[li], a.View(li), x_out, B, T));
  }
  if (!layout_.last_stage) return Status::Ok();

  // Head: final LayerNorm, logits against this rank's vocabulary slice, cross-entropy.
  std::memcpy(a.targets.data(), targets, sizeof(int32_t) * BT);
  return HeadForward(a.head, a.x_out.as<float>(), a.targets.data(), BT, grad_scale, loss_sum);
}

const float* GPT::Output(const Activations& a) const { return a.x_out.as<float>(); }
const float* GPT::Logits(const Activations& a) const {
  return a.head.chunk_rows > 0 ? nullptr : a.head.logits.as<float>();
}

// ---- backward ------------------------------------------------------------------------

Status GPT::Backward(Activations& a, const float* doutput, float* dinput, bool overwrite_grads) {
  const bool acc = !overwrite_grads;
  const int64_t B = a.b, T = a.t, BT = B * T, C = C_;
  float* dres = a.dres.as<float>();  // gradient of the residual stream, updated in place
  float* dln = a.dln.as<float>();
  const bool sink = layout_.first_stage && layout_.last_stage && embed_sink_.active && embed_sink_.active();
  if (layout_.last_stage) {
    OGAI_RETURN_IF_ERROR(HeadBackward(a.head, a.x_out.as<float>(), a.targets.data(), BT, dln, dres, acc));
    Ready(lnf_w_);
    Ready(lnf_b_);
    if (!layout_.first_stage || sink) Ready(wte_);  // its last contribution on this stage
  } else {
    std::memcpy(dres, doutput, sizeof(float) * BT * C);
  }

  for (int li = static_cast<int>(blocks_.size()) - 1; li >= 0; --li) {
    const BlockParams& p = blocks_[li];
    const LayerView L = a.View(li);
    // The shared scratch still holds the last block's activations from Forward: recompute the
    // others only.
    const bool recompute = li + 1 < static_cast<int>(blocks_.size());
    if (recompute && a.recompute == Recompute::kFull) {
      OGAI_RETURN_IF_ERROR(BlockForward(p, L, a.recompute_out.as<float>(), B, T));
    } else if (recompute && a.recompute == Recompute::kSelective) {
      k::LayerNormForward(L.ln1, L.ln1_mean, L.ln1_rstd, L.x_in, P(p.ln1_w), P(p.ln1_b), BT, C);
      k::LayerNormForward(L.ln2, L.ln2_mean, L.ln2_rstd, L.x_mid, P(p.ln2_w), P(p.ln2_b), BT, C);
      k::GeluForward(L.fch_gelu, L.fch, BT * Fl_);
    }
    // MLP: x_out = x_mid + fch_gelu . Wmp^T + bmp
    float* dfch = a.dfch.as<float>();
    k::BiasBackward(G(p.mproj_b), dres, BT, C, acc);
    Ready(p.mproj_b);
    if (precision_ == Precision::kBf16) {
      LinearBackward(dfch, G(p.mproj_w), nullptr, dres, L.fch_gelu, p.mproj_w, BT, Fl_, C, acc);
      k::GeluBackward(dfch, L.fch, dfch, BT * Fl_);
    } else {  // the GELU gradient fused into the input-gradient GEMM
      k::MatmulBackwardGelu(dfch, G(p.mproj_w), nullptr, dres, L.fch_gelu, P(p.mproj_w), L.fch, BT, Fl_, C, acc);
    }
    Ready(p.mproj_w);
    LinearBackward(dln, G(p.fc_w), G(p.fc_b), dfch, L.ln2, p.fc_w, BT, C, Fl_, acc);
    Ready(p.fc_w);
    Ready(p.fc_b);
    OGAI_RETURN_IF_ERROR(TpSum(dln, BT * C));
    k::LayerNormBackward(dres, G(p.ln2_w), G(p.ln2_b), dln, L.x_mid, P(p.ln2_w), L.ln2_mean, L.ln2_rstd, BT, C, acc);
    Ready(p.ln2_w);
    Ready(p.ln2_b);
    // Attention: x_mid = x_in + atty . Wproj^T + bproj
    float* datty = a.datty.as<float>();
    float* dqkv = a.dqkv.as<float>();
    k::BiasBackward(G(p.proj_b), dres, BT, C, acc);
    Ready(p.proj_b);
    LinearBackward(datty, G(p.proj_w), nullptr, dres, L.atty, p.proj_w, BT, Cl_, C, acc);
    Ready(p.proj_w);
    k::AttentionBackward(dqkv, datty, L.atty, L.lse, L.qkv, B, T, NHl_, HD_);
    LinearBackward(dln, G(p.q_w), G(p.q_b), dqkv, L.ln1, p.q_w, BT, C, 3 * Cl_, acc);
    for (int idx : {p.q_w, p.k_w, p.v_w, p.q_b, p.k_b, p.v_b}) Ready(idx);
    OGAI_RETURN_IF_ERROR(TpSum(dln, BT * C));
    k::LayerNormBackward(dres, G(p.ln1_w), G(p.ln1_b), dln, L.x_in, P(p.ln1_w), L.ln1_mean, L.ln1_rstd, BT, C, acc);
    Ready(p.ln1_w);
    Ready(p.ln1_b);
  }

  if (layout_.first_stage) {
    k::PositionAddBackward(G(wpe_), dres, B, T, C, acc);
    Ready(wpe_);
    // On a stage with the head, the head's GEMM has already written (or added to) wte's
    // gradient; without it, a fresh step clears it before the scatter-add.
    if (overwrite_grads && !layout_.last_stage) {
      std::memset(G(wte_), 0, sizeof(float) * params_[wte_].numel);
    }
    if (sink) {
      embed_sink_.take(a.tokens.data(), dres, BT);
    } else {
      k::EmbeddingLookupBackward(G(wte_), dres, a.tokens.data(), BT, C, V0_, V0_ + Vl_);
      Ready(wte_);
    }
  } else if (dinput != nullptr) {
    std::memcpy(dinput, dres, sizeof(float) * BT * C);
  }
  return Status::Ok();
}

void GPT::AddEmbeddingGrad(const int32_t* tokens, const float* rows, int64_t n) {
  k::EmbeddingLookupBackward(G(wte_), rows, tokens, n, C_, V0_, V0_ + Vl_);
}

// ---- accounting ----------------------------------------------------------------------

int64_t GPT::DenseParamCount(const ModelConfig& cfg) {
  const int64_t C = cfg.d_model, L = cfg.layers;
  const int64_t per_block = 2 * C + 3 * C * C + 3 * C + C * C + C + 2 * C + 4 * C * C + 4 * C + 4 * C * C + C;
  return static_cast<int64_t>(cfg.vocab) * C + static_cast<int64_t>(cfg.seq_len) * C + L * per_block + 2 * C;
}

double GPT::ModelFlopsPerToken(const ModelConfig& cfg) {
  // 6 N for the matmul parameters (position embedding excluded: it does no matmul; the tied
  // head is counted once through wte), plus 12 L T C for attention scores and values.
  const double n = static_cast<double>(DenseParamCount(cfg)) - static_cast<double>(cfg.seq_len) * cfg.d_model;
  return 6.0 * n + 12.0 * cfg.layers * cfg.seq_len * cfg.d_model;
}

}  // namespace ogai::model
