// libFuzzer harness: loading a GPT-2 BPE vocabulary (dataproc/bpe.h: encoder.json and
// vocab.bpe, files a user points tokenize.vocab_dir at), then encoding and decoding a text
// with what loads. Input: encoder.json, NUL, vocab.bpe, NUL, text to encode.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dataproc/bpe.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const size_t a = in.find('\0');
  if (a == std::string::npos) return 0;
  size_t b = in.find('\0', a + 1);
  if (b == std::string::npos) b = in.size();
  const std::string enc = ogai::fuzz::ScratchDir() + "/encoder.json";
  const std::string bpe = ogai::fuzz::ScratchDir() + "/vocab.bpe";
  if (!ogai::fuzz::WriteBytes(enc, std::string_view(in).substr(0, a)) ||
      !ogai::fuzz::WriteBytes(bpe, std::string_view(in).substr(a + 1, b - a - 1))) {
    return 0;
  }
  auto tok = ogai::data::Gpt2Bpe::Load(enc, bpe);
  if (tok.ok()) {
    const std::string text = b < in.size() ? in.substr(b + 1) : std::string("hello world");
    std::vector<int32_t> ids;
    ogai::data::BpeCache cache(1 << 16);
    (*tok)->Encode(text, &ids, &cache);
    for (int32_t id : ids) {
      if (id < 0 || id >= (*tok)->vocab_size()) __builtin_trap();  // every token is in the vocabulary
    }
    (void)(*tok)->Decode(ids);
  }
  ::unlink(enc.c_str());
  ::unlink(bpe.c_str());
  return 0;
}
