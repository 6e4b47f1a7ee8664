// libFuzzer harness: the files ogai-data reads back: a dataset's manifest.json
// (dataproc/dataset.h: OpenDataset, which `ogai-data inspect/export` and training read) and
// the part files of stage 2 (dataproc/part_file.h). Input: one selector byte, then the file.
// Selector bit 0 clear: a manifest.json in a dataset folder that also holds train-00000.bin
// and val-00000.bin (so the shard list can name files that exist); set: a part file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "dataproc/dataset.h"
#include "dataproc/part_file.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string& dir = ogai::fuzz::ScratchDir();
  if ((data[0] & 1) == 0) {
    static const bool shards = ogai::fuzz::WriteBytes(dir + "/train-00000.bin", std::string(64, '\0')) &&
                               ogai::fuzz::WriteBytes(dir + "/val-00000.bin", std::string(64, '\0'));
    (void)shards;
    const std::string path = dir + "/" + ogai::data::kManifestName;
    if (!ogai::fuzz::WriteBytes(path, body)) return 0;
    auto d = ogai::data::OpenDataset(dir);
    if (d.ok()) (void)ogai::data::DatasetId(d->manifest);
    ::unlink(path.c_str());
  } else {
    const std::string path = dir + "/part.bin";
    if (!ogai::fuzz::WriteBytes(path, body)) return 0;
    auto r = ogai::data::PartReader::Open(path);
    if (r.ok()) {
      ogai::data::PartRecord rec;
      for (int n = 0; n < 64; ++n) {
        auto more = (*r)->Next(&rec, (data[0] & 2) != 0);
        if (!more.ok() || !*more) break;
      }
    }
    ::unlink(path.c_str());
  }
  return 0;
}
