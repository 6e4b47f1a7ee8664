// Incremental decoding with a key/value cache: the dense GPT's forward for one new token per
// sequence at a time, reusing the keys and values of the positions before it.
//
// The training forward (GPT::Forward) recomputes every position of a fixed-length window;
// generating N tokens that way costs O(N^2) positions. KvDecoder keeps, per layer and
// sequence, the keys and values of the positions seen so far, so each new token costs one
// position (plus attention over the cache). It uses the same kernels as GPT::Forward
// (LayerNorm, matmul, GELU, FastExp) so greedy decoding gives the same tokens as full
// recomputation (tests/model/kv_decode_test.cc holds both equal).
//
// Needs the whole dense model (tp = 1, one stage); positions are limited by model.seq_len
// (the position embedding's length).
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "model/gpt.h"

namespace ogai::model {

class KvDecoder {
 public:
  // `model` (not owned) must be a dense model (tp = 1, all layers, first and last stage).
  static Result<KvDecoder> Create(const GPT* model, int batch);

  int batch() const { return batch_; }
  int position() const { return pos_; }  // tokens consumed per sequence so far
  int max_positions() const { return T_; }
  int vocab() const { return V_; }

  // Consumes tokens[batch] (one per sequence) at position(); writes logits[batch * vocab] of
  // the next token. OutOfRange-like InvalidArgument when the window is full or a token is
  // outside the vocabulary.
  Status Step(const int32_t* tokens, float* logits);
  void Reset() { pos_ = 0; }

 private:
  const GPT* m_ = nullptr;
  int batch_ = 1, T_ = 0, V_ = 0, L_ = 0, C_ = 0, NH_ = 0, HD_ = 0;
  int pos_ = 0;
  // Per layer: [batch, T, C] keys and values.
  std::vector<std::vector<float>> k_, v_;
  std::vector<float> x_, ln_, qkv_, atty_, mid_, fch_, gel_, scores_;
  struct Block {
    const float *ln1_w, *ln1_b, *qkv_w, *qkv_b, *proj_w, *proj_b, *ln2_w, *ln2_b, *fc_w, *fc_b, *mproj_w, *mproj_b;
  };
  std::vector<Block> blocks_;
  const float *wte_ = nullptr, *wpe_ = nullptr, *lnf_w_ = nullptr, *lnf_b_ = nullptr;
};

// Logits of every position of `b` sequences of `t` tokens (1 <= t <= model.seq_len) by the
// training forward (GPT::Forward on a t-position window, no gradient): out[b * t * vocab].
Status FullForwardLogits(GPT& model, const int32_t* tokens, int b, int t, std::vector<float>* out);

}  // namespace ogai::model
