// libFuzzer harness: the token shard reader (dataproc/shard.h): the input is the whole file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "dataproc/shard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    const char* t = std::getenv("TMPDIR");
    return std::string(t && *t ? t : "/tmp") + "/ogai-fuzz-shard." + std::to_string(::getpid());
  }();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto s = ogai::data::TokenShard::Open(path, 0);
  if (s.ok()) {
    // Every token the header admits must be readable (ASan catches a read past the mapping).
    const int64_t n = (*s)->size();
    std::vector<int32_t> out(16);
    for (int64_t b : {int64_t{0}, n / 2, n > 16 ? n - 16 : int64_t{0}}) {
      const int64_t k = std::min<int64_t>(16, n - b);
      if (k > 0) (*s)->Read(b, k, out.data());
    }
  }
  ::unlink(path.c_str());
  return 0;
}
