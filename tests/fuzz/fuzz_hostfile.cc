// libFuzzer harness: the Open MPI hostfile parser and the -H host list (launcher/hostfile.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "launcher/hostfile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  auto hosts = ogai::launch::ParseHostfile(in, "fuzz-hostfile");
  if (hosts.ok()) {
    for (const auto& h : *hosts) {
      if (h.name.empty() || h.name[0] == '-') __builtin_trap();  // never an option-like host
    }
  }
  (void)ogai::launch::ParseHostList(in);
  return 0;
}
