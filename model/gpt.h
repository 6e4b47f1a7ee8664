// GPT-2-style decoder: token + position embedding, pre-LayerNorm blocks (causal
// self-attention, GELU MLP), final LayerNorm, output head tied to the token embedding.
// Explicit forward and backward per layer; no autograd.
//
// One GPT object is the part of the model one rank holds:
//   * tensor parallelism (Megatron-LM): Q, K, V and MLP-up are column-parallel (rows of W
//     split over TP ranks), attention-out and MLP-down are row-parallel (columns split; one
//     all-reduce after each in forward), the embedding and the head are vocab-parallel;
//     LayerNorms, position embedding and row-parallel biases are replicated.
//   * pipeline parallelism: a contiguous range of blocks; the first stage also holds the
//     embeddings, the last the final LayerNorm and (a tied copy of) the token embedding.
// With tp = 1 and one stage it is the dense model.
//
// Parameters live in one flat fp32 buffer in a fixed order (wte, wpe, blocks, lnf), and
// gradients in a second buffer with the same layout, so data parallelism can reduce
// contiguous ranges and checkpoints can name every tensor with its global shape and the
// slice this rank holds. Initialisation is counter-based per (seed, tensor name, global
// element index): every layout starts from exactly the dense model's weights.
//
// Gradients accumulate (+=) across micro-batches; the optimizer clears them.
//
// Precision (train.precision): fp32, or bf16 mixed precision — every linear layer's GEMM
// (QKV, projections, MLP, the head) takes bf16 operands with fp32 accumulation, from a bf16
// copy of the fp32 master weights made at the first Forward after the weights may have
// changed (any call of the non-const param_data() marks the copy stale); embeddings,
// LayerNorm, attention, softmax and the loss stay fp32, as do gradients and the optimizer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/memory.h"
#include "core/status.h"
#include "model/model_config.h"

namespace ogai::model {

struct ParamSpec {
  std::string name;                   // "h.3.attn.q.w"
  std::vector<int64_t> global_shape;  // shape in the dense model
  int shard_dim = -1;                 // dim split over TP ranks; -1 = replicated
  std::vector<int64_t> local_shape;   // shape held here
  int64_t shard_begin = 0;            // first global index along shard_dim held here
  int64_t offset = 0;                 // element offset in the flat buffers
  int64_t numel = 0;                  // local element count
  int64_t extent = 0;                 // elements up to the next tensor (numel + padding)
  bool decay = false;                 // AdamW weight decay applies (matrices, embeddings)
  int layer = -1;                     // block index, or -1
};

enum class Precision { kFp32, kBf16 };

// Activation recompute (train.recompute), like Megatron-LM's activation checkpointing:
//   none      every block keeps all its activations for backward (16 x d_model floats/token)
//   selective blocks drop the LayerNorm outputs and the GELU output (6 of the 16) and
//             recompute them in backward (elementwise work only)
//   full      blocks keep only their input (1 of 16); backward reruns each block's forward
//             (its GEMMs, attention and TP all-reduces: about one more forward pass), and
//             the head keeps no logits: it computes the loss in row chunks and backward
//             recomputes the logits in vocabulary chunks (model/head.h)
// The blocks' recomputation runs the same kernels in the same order (bit-identical
// gradients); the chunked head sums dlnf over vocabulary chunks, so under full the gradients
// equal none's within fp32 rounding (and are the same bits run to run).
enum class Recompute { kNone, kSelective, kFull };

// Which part of the model this rank holds.
struct ModelLayout {
  int tp_rank = 0;
  int tp_size = 1;
  int layer_begin = 0;
  int layer_end = -1;       // -1: all layers
  bool first_stage = true;  // holds wte (lookup) and wpe
  bool last_stage = true;   // holds lnf and wte (head)
};

// All-reduce over the tensor-parallel group, supplied by the runtime (null when tp = 1).
class TensorParallelComm {
 public:
  virtual ~TensorParallelComm() = default;
  virtual Status AllReduceSum(float* data, int64_t n) = 0;
  virtual Status AllReduceMax(float* data, int64_t n) = 0;
};

// Activations of one micro-batch on this stage, kept from forward for backward (opaque).
struct Activations;
struct LayerView;
struct HeadActs;
struct ActivationsDeleter {
  void operator()(Activations* a) const;
};
using ActivationsPtr = std::unique_ptr<Activations, ActivationsDeleter>;

class GPT {
 public:
  static Result<std::unique_ptr<GPT>> Create(const ModelConfig& cfg, const ModelLayout& layout);
  ~GPT();

  const ModelConfig& config() const { return cfg_; }
  const ModelLayout& layout() const { return layout_; }
  const std::vector<ParamSpec>& params() const { return params_; }
  int64_t num_local_params() const { return num_params_; }
  // Non-const access may write the weights: it marks the bf16 copy stale.
  float* param_data() {
    bf16_stale_ = true;
    return params_buf_.as<float>();
  }
  const float* param_data() const { return params_buf_.as<float>(); }
  float* grad_data() { return grads_buf_.as<float>(); }
  const float* grad_data() const { return grads_buf_.as<float>(); }
  const ParamSpec* FindParam(const std::string& name) const;

  // bf16 needs oneDNN's bf16 matmul (AVX-512); the error says so. Switchable between steps.
  Status SetPrecision(Precision p);
  Precision precision() const { return precision_; }
  // bf16 precision: the bf16 weight copy (same layout as param_data()) for an optimizer that
  // writes it together with the fp32 update, then MarkBf16Current(); null in fp32.
  uint16_t* bf16_param_data() { return precision_ == Precision::kBf16 ? params_bf16_.as<uint16_t>() : nullptr; }
  void MarkBf16Current() { bf16_stale_ = false; }

  // Applies to activations made by later NewActivations calls.
  void set_recompute(Recompute r) { recompute_ = r; }
  Recompute recompute() const { return recompute_; }
  // Rows per forward chunk of the chunked head (recompute full; default 128: a 128 x Vl chunk
  // of logits instead of all of them). Applies to later NewActivations calls; tests set small
  // values to exercise several chunks on small batches.
  void set_head_chunk_rows(int rows) { head_chunk_rows_ = rows; }

  void set_tp_comm(TensorParallelComm* comm) { tp_ = comm; }
  // Called with a parameter's index as soon as backward has finished writing its gradient.
  void set_grad_ready_hook(std::function<void(int)> hook) { grad_ready_ = std::move(hook); }

  // The tied embedding on a rank that holds both the embedding and the head (pp = 1). Its
  // gradient has two parts: the head's GEMM (dense, computed first in backward) and the
  // token lookup's scatter-add of the residual gradient into the rows of the batch's tokens
  // (sparse, computed last). When `active()` says so at the start of a backward pass, wte is
  // reported ready right after the head, and the sparse part goes to `take(tokens, rows, n)`
  // (n tokens, n x d_model rows, valid during the call) instead of into the gradient; the
  // caller adds it later with AddEmbeddingGrad. This lets data parallelism reduce the
  // largest tensor (a third of GPT-2 124M) while the blocks' backward runs.
  struct EmbeddingGradSink {
    std::function<bool()> active;
    std::function<void(const int32_t* tokens, const float* rows, int64_t n)> take;
  };
  void set_embedding_grad_sink(EmbeddingGradSink sink) { embed_sink_ = std::move(sink); }
  // wte's gradient += the scatter-add of `rows` at `tokens` (this rank's vocabulary slice).
  void AddEmbeddingGrad(const int32_t* tokens, const float* rows, int64_t n);

  // Fills the parameters from (seed, name, global index): layout-independent.
  void Init(uint64_t seed);
  void ZeroGrads();

  // Activations for `micro_batch` sequences of `t` positions (0: model.seq_len). Forward and
  // Backward run on that many positions: a shorter window (the first t rows of wpe) computes
  // exactly what the first t positions of a full window would (attention is causal).
  ActivationsPtr NewActivations(int micro_batch, int t = 0) const;

  // Forward for one micro-batch of `b` sequences of T positions (NewActivations' t).
  //   first stage: `tokens` [b*T];   other stages: `input` [b*T*C] (the previous stage's output)
  //   last stage:  `targets` [b*T];  returns the summed token loss in *loss_sum; when
  //                `grad_scale` > 0 also prepares the logits' gradient scaled by it
  //                (1 / tokens in the global batch gives the mean-loss gradient).
  Status Forward(Activations& acts, const int32_t* tokens, const float* input, const int32_t* targets, float grad_scale,
                 double* loss_sum);
  // This stage's output activation [b*T*C] (valid after Forward on a non-last stage).
  const float* Output(const Activations& acts) const;
  // The last stage's logits [b*T*Vl] (valid after Forward with grad_scale <= 0; with a
  // gradient they are overwritten by it). Null when the head is chunked (recompute full).
  const float* Logits(const Activations& acts) const;

  // Backward for the micro-batch whose Forward filled `acts`. Non-last stages get `doutput`
  // [b*T*C]; non-first stages write `dinput` [b*T*C]. Gradients accumulate (+=), or, with
  // `overwrite_grads` (the first micro-batch of a step), are written afresh — which saves
  // clearing the gradient buffer between steps.
  Status Backward(Activations& acts, const float* doutput, float* dinput, bool overwrite_grads = false);

  // 6 * (parameters that do matmul work, counting the tied head once) + attention, per token,
  // for the whole model (not just this rank's part): the usual "model FLOPs" (PaLM, app. B).
  static double ModelFlopsPerToken(const ModelConfig& cfg);
  static int64_t DenseParamCount(const ModelConfig& cfg);

 private:
  GPT(const ModelConfig& cfg, const ModelLayout& layout);
  // `pad` false keeps the next tensor directly after this one (q, k, v form one GEMM).
  void AddParam(const std::string& name, std::vector<int64_t> global_shape, int shard_dim, bool decay, int layer,
                bool pad = true);
  float* P(int idx) { return params_buf_.as<float>() + params_[idx].offset; }
  const uint16_t* PB(int idx) const { return params_bf16_.as<uint16_t>() + params_[idx].offset; }
  // y = x W^T + b and its backward at the model's precision (W = parameter `w`).
  void Linear(float* out, const float* inp, int w, const float* bias, int64_t m, int64_t k, int64_t n);
  void LinearBackward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, int w, int64_t m,
                      int64_t k, int64_t n, bool accumulate);
  float* G(int idx) { return grad_data() + params_[idx].offset; }
  void Ready(int idx) {
    if (grad_ready_) grad_ready_(idx);
  }
  Status TpSum(float* data, int64_t n);

  struct BlockParams {
    int ln1_w, ln1_b, q_w, k_w, v_w, q_b, k_b, v_b, proj_w, proj_b;
    int ln2_w, ln2_b, fc_w, fc_b, mproj_w, mproj_b;
  };
  // One block's forward for `b` sequences of `t` positions: reads L.x_in, fills L's activations,
  // writes x_out.
  Status BlockForward(const BlockParams& p, const LayerView& L, float* x_out, int64_t b, int64_t t);
  // The head on `bt` rows of the last block's output `x` (model/head.cc).
  void NewHead(HeadActs& h, int64_t bt) const;
  Status HeadForward(HeadActs& h, const float* x, const int32_t* targets, int64_t bt, float grad_scale,
                     double* loss_sum);
  // Writes dlnf's gradient (all-reduced over TP) to `dln`, wte's and lnf's gradients, and adds
  // dx (the final LayerNorm's input gradient) to `dres` (cleared first).
  Status HeadBackward(HeadActs& h, const float* x, const int32_t* targets, int64_t bt, float* dln, float* dres,
                      bool accumulate);

  ModelConfig cfg_;
  ModelLayout layout_;
  std::vector<ParamSpec> params_;
  int64_t num_params_ = 0;
  Buffer params_buf_;
  Buffer grads_buf_;
  Precision precision_ = Precision::kFp32;
  Recompute recompute_ = Recompute::kNone;
  int head_chunk_rows_ = 128;
  Buffer params_bf16_;  // bf16 copy of params_buf_ (bf16 precision only)
  bool bf16_stale_ = true;
  int wte_ = -1, wpe_ = -1, lnf_w_ = -1, lnf_b_ = -1;
  std::vector<BlockParams> blocks_;
  // Local sizes.
  int64_t C_ = 0, Cl_ = 0, Fl_ = 0, NHl_ = 0, HD_ = 0, Vl_ = 0, V0_ = 0;
  TensorParallelComm* tp_ = nullptr;
  std::function<void(int)> grad_ready_;
  EmbeddingGradSink embed_sink_;
};

}  // namespace ogai::model
