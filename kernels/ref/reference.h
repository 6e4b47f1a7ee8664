// Straightforward reference versions of every CPU kernel, in double precision, written for
// obviousness rather than speed. Used only by tests: each fast kernel is checked against its
// reference, and each reference backward is checked against finite differences.
// Shapes and layouts are exactly those documented in kernels/cpu/<op>.h.
#pragma once

#include <cstdint>
#include <vector>

namespace ogai::kernels::ref {

using Vec = std::vector<double>;

// out[M,N] = inp[M,K] W[N,K]^T + b
void MatmulForward(Vec& out, const Vec& inp, const Vec& w, const Vec* b, int m, int k, int n);
void MatmulBackward(Vec& dinp, Vec& dw, Vec* db, const Vec& dout, const Vec& inp, const Vec& w, int m, int k, int n);

void Embedding(Vec& out, const std::vector<int32_t>& tok, const Vec& wte, const Vec& wpe, int b, int t, int c);
void EmbeddingBackward(Vec& dwte, Vec& dwpe, const Vec& dout, const std::vector<int32_t>& tok, int b, int t, int c);

void LayerNorm(Vec& out, const Vec& inp, const Vec& w, const Vec& b, int n, int c);
void LayerNormBackward(Vec& dinp, Vec& dw, Vec& db, const Vec& dout, const Vec& inp, const Vec& w, int n, int c);

void Gelu(Vec& out, const Vec& inp);
void GeluBackward(Vec& dinp, const Vec& inp, const Vec& dout);

void Softmax(Vec& out, const Vec& inp, int rows, int cols);
void SoftmaxBackward(Vec& dinp, const Vec& out, const Vec& dout, int rows, int cols);

// qkv [B,T,3C] -> out [B,T,C], causal.
void Attention(Vec& out, const Vec& qkv, int b, int t, int nh, int hd);
void AttentionBackward(Vec& dqkv, const Vec& dout, const Vec& qkv, int b, int t, int nh, int hd);

// losses[M]; dlogits[M,V] = scale * (softmax - onehot).
void CrossEntropy(Vec& losses, const Vec& logits, const std::vector<int32_t>& targets, int m, int v);
void CrossEntropyBackward(Vec& dlogits, const Vec& logits, const std::vector<int32_t>& targets, int m, int v,
                          double scale);

void AdamW(Vec& p, const Vec& g, Vec& m, Vec& v, double lr, double b1, double b2, double eps, double wd, int64_t step,
           double grad_scale);

}  // namespace ogai::kernels::ref
