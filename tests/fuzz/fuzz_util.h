// Helpers the file-reading harnesses share: a private scratch folder (under $TMPDIR, which
// scripts/fuzz.sh points at a folder of its own) and writing the fuzzer's bytes to a file.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace ogai::fuzz {

// A folder of this process, made once (mkdtemp) and reused for every input.
inline const std::string& ScratchDir() {
  static const std::string dir = [] {
    const char* t = std::getenv("TMPDIR");
    std::string templ = std::string(t && *t ? t : "/tmp") + "/ogai-fuzz-data.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) std::abort();
    return templ;
  }();
  return dir;
}

inline bool WriteBytes(const std::string& path, std::string_view bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace ogai::fuzz
