// `ogai-data export`: a dataset split in other tools' formats.
//
//   megatron  PREFIX.bin + PREFIX.idx: Megatron-LM's indexed dataset. The .idx is
//             "MMIDIDX\0\0", uint64 version 1, uint8 dtype code (8 = uint16, 4 = int32),
//             uint64 sequence count, uint64 document count (sequences + 1), int32 sequence
//             lengths, int64 byte offsets of the sequences in .bin, int64 document indices
//             (0, 1, ..., n). One sequence per document; a document is the tokens up to and
//             including an end-of-text token (as preprocess_data.py --append-eod makes).
//   llmc      PREFIX.bin: llm.c's token file: 256 int32 header (magic 20240520, version 1,
//             token count), then uint16 tokens. Needs a vocabulary of at most 65536.
#pragma once

#include <string>

#include "core/status.h"
#include "dataproc/dataset.h"

namespace ogai::data {

struct ExportResult {
  std::vector<std::string> files;
  int64_t tokens = 0, docs = 0;
};

Result<ExportResult> ExportDataset(const DatasetInfo& ds, const std::string& split, const std::string& format,
                                   const std::string& prefix);

}  // namespace ogai::data
