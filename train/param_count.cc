#include "train/param_count.h"

namespace ogai::train {
namespace {

int64_t Pad16(int64_t n) { return (n + 15) / 16 * 16; }

}  // namespace

int64_t LocalParamElements(const ModelConfig& m, int tp, int layers, bool first_stage, bool last_stage) {
  const int64_t C = m.d_model, Cl = C / tp, Fl = 4 * C / tp;
  int64_t n = 0;
  if (first_stage || last_stage) n += Pad16(static_cast<int64_t>(m.vocab) / tp * C);  // wte
  if (first_stage) n += Pad16(static_cast<int64_t>(m.seq_len) * C);                   // wpe
  const int64_t block = 2 * Pad16(C)                                                  // ln1
                        + Pad16(3 * Cl * C)          // q, k, v weights (no padding between)
                        + Pad16(3 * Cl)              // q, k, v biases
                        + Pad16(C * Cl) + Pad16(C)   // attn.proj (row-parallel) + replicated bias
                        + 2 * Pad16(C)               // ln2
                        + Pad16(Fl * C) + Pad16(Fl)  // mlp.fc
                        + Pad16(C * Fl) + Pad16(C);  // mlp.proj
  n += layers * block;
  if (last_stage) n += 2 * Pad16(C);  // lnf
  return n;
}

}  // namespace ogai::train
