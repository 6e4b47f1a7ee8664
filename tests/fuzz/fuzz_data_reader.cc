// libFuzzer harness: ogai-data's input reader (dataproc/reader.h) and what runs on each
// document it yields (UTF-8 repair, GPT-2 pre-splitting, PII masking, the quality filters).
// Input: one selector byte, then the file's bytes. The selector picks the file's extension
// (.txt, .jsonl, .gz, .zst: the reader decompresses by extension, so the fuzzer reaches the
// zlib/zstd error paths), the text split (file / blank-line blocks), the JSON field and the
// UTF-8 policy.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dataproc/filters.h"
#include "dataproc/gpt2_split.h"
#include "dataproc/reader.h"
#include "dataproc/unicode.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t sel = data[0];
  static const char* kExt[] = {".txt", ".jsonl", ".gz", ".zst", ".jsonl.gz", ".jsonl.zst", ".txt", ".md"};
  const std::string path = ogai::fuzz::ScratchDir() + "/input" + kExt[sel & 7];
  if (!ogai::fuzz::WriteBytes(path, std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1))) return 0;
  ogai::data::InputConfig in;
  in.paths = {path};
  in.format = (sel & 0x18) == 0 ? "auto" : (sel & 0x18) == 0x08 ? "text" : "jsonl";
  in.text_split = (sel & 0x20) ? "blank_lines" : "file";
  in.jsonl_field = (sel & 0x40) ? "content" : "text";
  in.utf8 = (sel & 0x80) ? "drop" : "repair";
  auto files = ogai::data::ExpandInputs(in.paths);
  if (files.ok()) {
    auto r = ogai::data::DocReader::Open(path, in);
    if (r.ok()) {
      static const ogai::data::PrepareConfig defaults;
      static const ogai::data::Filters filters(defaults);
      std::string doc;
      for (int n = 0; n < 64; ++n) {
        auto more = (*r)->Next(&doc);
        if (!more.ok() || !*more) break;
        std::string fixed;
        ogai::data::RepairUtf8(doc, &fixed);
        int64_t emails = 0, ips = 0;
        ogai::data::MaskPii(defaults.pii, &fixed, &emails, &ips);
        for (size_t i = 0; i < fixed.size();) {
          const size_t e = ogai::data::Gpt2PieceEnd(fixed, i);
          if (e <= i || e > fixed.size()) __builtin_trap();  // the splitter must move forward, in bounds
          i = e;
        }
        int64_t removed = 0;
        (void)filters.Apply(&fixed, &removed);
      }
    }
  }
  ::unlink(path.c_str());
  return 0;
}
