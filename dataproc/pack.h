// Stage 2 of `ogai-data prepare` (rank 0): dedup over every part file in file order, the
// train/validation split, the shards and the manifest (dataset.h). See prepare.h.
#pragma once

#include <string>

#include "core/status.h"
#include "dataproc/prepare.h"
#include "dataproc/prepare_config.h"
#include "dataproc/text_tokenizer.h"

namespace ogai::data {

struct PackInput {
  const PrepareConfig* cfg = nullptr;
  const TextTokenizer* tok = nullptr;
  std::string work;  // the folder holding f<N>.part / f<N>.json
  int files = 0;
  bool overwrite = false;
  std::string rejects;  // "" : none
};

struct PackResult {
  std::string dataset_id;
  Counters counters;
};

Result<PackResult> PackDataset(const PackInput& in);

}  // namespace ogai::data
