// The last stage's head (model/head.cc): final LayerNorm, logits against this rank's vocabulary
// slice of the tied embedding, softmax cross-entropy. Internal to model/ (GPT's activations).
//
// Unchunked (train.recompute none or selective) it keeps the whole logits [BT, Vl] and writes
// their gradient over them in forward; backward is one GEMM pair.
//
// Chunked (train.recompute full) it keeps only per-row statistics. Forward computes the logits
// in chunks of `chunk_rows` rows (the same kernels, and with tensor parallelism the same max
// and sum all-reduces, chunk by chunk on every rank) and keeps each row's max, sum of
// exponentials, loss and gradient scale. Backward recomputes the logits in chunks of
// `chunk_vocab` vocabulary columns (all rows): the softmax gradient of a column chunk needs
// only the kept row statistics, each wte row's gradient comes whole from one GEMM, and dlnf
// sums the chunks' contributions in column order (fixed, so the same bits every run; not the
// same bits as one GEMM over all columns). No collective is added in backward.
#pragma once

#include <cstdint>

#include "core/memory.h"

namespace ogai::model {

struct HeadActs {
  int64_t chunk_rows = 0;                                // 0: unchunked (whole logits kept)
  int64_t chunk_vocab = 0;                               // backward's column chunk (chunked only)
  Buffer lnf, lnf_mean, lnf_rstd;                        // [BT, C], [BT], [BT]
  Buffer logits;                                         // [BT, Vl], or one chunk's scratch
  Buffer row_max, row_sum, target_logit, losses, scale;  // [BT]
  bool grad_ready = false;                               // a Forward with grad_scale > 0 ran
};

}  // namespace ogai::model
