// Token and position embeddings on the GPU: the maths of kernels/cpu/embedding.h.
//
// Lookup      out[i,:] = wte[tok[i] - vocab_begin, :]  if vocab_begin <= tok[i] < vocab_end, else 0
// PositionAdd out[b,t,:] += wpe[t,:]
// Backward    dwte[tok[i] - vocab_begin, :] += dout[i,:]   (fp32; tokens in order)
//             dwpe[t,:] (+)= sum_b dout[b,t,:]             (fp32; b in order)
// Deterministic without atomics: in the lookup backward each thread owns one column and walks
// the tokens in order (the CPU twin's order), so a repeated token adds in the same sequence on
// every run. That loop is sequential in the tokens (docs/gpu.md names it as a cost).
#pragma once

#include <cstdint>

#include "kernels/cuda/types.h"

namespace ogai::kernels::cuda {

void EmbeddingLookup(bf16* out, const int32_t* tokens, const bf16* wte, int64_t n_tokens, int64_t c,
                     int64_t vocab_begin, int64_t vocab_end, cudaStream_t stream);
void EmbeddingLookupBackward(float* dwte, const bf16* dout, const int32_t* tokens, int64_t n_tokens, int64_t c,
                             int64_t vocab_begin, int64_t vocab_end, cudaStream_t stream);

void PositionAdd(bf16* out, const bf16* wpe, int64_t b, int64_t t, int64_t c, cudaStream_t stream);
void PositionAddBackward(float* dwpe, const bf16* dout, int64_t b, int64_t t, int64_t c, bool accumulate,
                         cudaStream_t stream);

}  // namespace ogai::kernels::cuda
