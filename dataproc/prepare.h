// `ogai-data prepare`: the pipeline from raw text to a dataset (dataset.h).
//
// Stage 1, per input file (files f with f mod world == rank; threads of a rank take them in
// turn): read -> UTF-8 repair/drop -> filters -> PII masking -> exact hash and MinHash
// signature -> tokens. Each file's result goes to the shared output folder as a part file
// (records of hash, LSH bands, signature, tokens) and a JSON of its counters and rejected
// samples, both written atomically; a rank then leaves a done marker.
//
// Stage 2, rank 0 once every rank's marker is there: dedup over all part files in file
// order (the first of an exact or LSH-band collision is kept), the train/validation split
// by a seeded hash of each document, shards, and last the manifest.
//
// A part file depends only on its input file and the config, and stage 2 reads them in a
// fixed order, so the dataset is bit-identical for any number of ranks and threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "dataproc/prepare_config.h"

namespace ogai::data {

struct PrepareOptions {
  bool overwrite = false;             // replace a dataset already in output.dir
  std::string rejects;                // write samples of dropped documents here (JSON Lines)
  int rank = 0, world = 1;            // this process among the ranks of one run
  int local_world = 1;                // ranks on this node (threads = cores / local_world)
  std::string run_tag;                // names the work folder all ranks of one run share
  bool progress = true;               // progress lines on rank 0
  double wait_timeout_s = 24 * 3600;  // rank 0 waiting for the others
};

using Counters = std::map<std::string, int64_t>;

struct PrepareResult {
  std::string dataset_id;  // empty on ranks other than 0
  Counters counters;
  double seconds = 0;
  int64_t input_bytes = 0;
};

Result<PrepareResult> RunPrepare(const PrepareConfig& cfg, const PrepareOptions& opts);

// The counter names in report order (a stage's counters together).
std::vector<std::string> CounterOrder();

}  // namespace ogai::data
