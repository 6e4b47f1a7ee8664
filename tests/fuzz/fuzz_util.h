// Helpers the harnesses share: a private scratch folder (under $TMPDIR, which scripts/fuzz.sh
// points at a folder of its own), writing the fuzzer's bytes to a file, and splitting a config
// harness's input into its text and override lines.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

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

// A config harness's input: YAML text, then, after a NUL byte, up to 8 override lines.
struct ConfigInput {
  std::string text;
  std::vector<std::string> overrides;
};
inline ConfigInput SplitConfigInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  ConfigInput c{in, {}};
  if (size_t nul = in.find('\0'); nul != std::string::npos) {
    c.text = in.substr(0, nul);
    const std::string rest = in.substr(nul + 1);
    size_t b = 0;
    while (b <= rest.size() && c.overrides.size() < 8) {
      size_t e = rest.find('\n', b);
      if (e == std::string::npos) e = rest.size();
      c.overrides.push_back(rest.substr(b, e - b));
      b = e + 1;
    }
  }
  return c;
}

}  // namespace ogai::fuzz
