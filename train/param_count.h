// How many elements a rank's flat parameter buffer holds, by model/gpt.cc's rule (GPT::Create
// and AddParam): the one count that the host memory estimate (train/memory_estimate) and the
// GPU plan (train/device_arena) both use, so they cannot disagree on what the model allocates.
#pragma once

#include <cstdint>

#include "train/config.h"

namespace ogai::train {

// Elements of the flat parameter buffer of a rank holding `layers` blocks at tensor-parallel
// degree `tp`, on the first and/or last pipeline stage: wte (vocab-parallel) on the first and
// the last stage, wpe on the first, lnf on the last; each tensor padded to 16 floats (64 bytes)
// except inside the fused q, k, v weights.
int64_t LocalParamElements(const ModelConfig& m, int tp, int layers, bool first_stage, bool last_stage);

}  // namespace ogai::train
