// Token and position embeddings.
//
// Lookup      out[i,:] = wte[tok[i] - vocab_begin, :]   if vocab_begin <= tok[i] < vocab_end
//                      = 0                               otherwise
//   (a vocab-parallel rank holds rows [vocab_begin, vocab_end) of the table; the full
//    embedding is the sum over ranks). Dense: vocab_begin = 0, vocab_end = V.
// PositionAdd out[b,t,:] += wpe[t,:]
// Backward    dwte[tok[i] - vocab_begin, :] += dout[i,:]  (tokens in order: deterministic)
//             dwpe[t,:] += sum_b dout[b,t,:]
#pragma once

#include <cstdint>

namespace ogai::kernels {

void EmbeddingLookup(float* out, const int32_t* tokens, const float* wte, int64_t n_tokens, int64_t c,
                     int64_t vocab_begin, int64_t vocab_end);
void EmbeddingLookupBackward(float* dwte, const float* dout, const int32_t* tokens, int64_t n_tokens, int64_t c,
                             int64_t vocab_begin, int64_t vocab_end);

void PositionAdd(float* out, const float* wpe, int64_t b, int64_t t, int64_t c);
// accumulate false: dwpe is overwritten.
void PositionAddBackward(float* dwpe, const float* dout, int64_t b, int64_t t, int64_t c, bool accumulate = true);

}  // namespace ogai::kernels
