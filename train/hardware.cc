#include "train/hardware.h"

#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "kernels/cpu/gemm.h"

namespace ogai::train {
namespace {

// The value after "key<spaces>:" on the first line of `path` that starts with `key`.
std::string ProcField(const char* path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t b = line.find_first_not_of(" \t", colon + 1);
    return b == std::string::npos ? std::string() : line.substr(b);
  }
  return "";
}

}  // namespace

HardwareInfo DescribeHardware() {
  HardwareInfo h;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) h.host = host;
  h.cpu = ProcField("/proc/cpuinfo", "model name");
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) h.cores = CPU_COUNT(&set);
  h.online_cores = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  const std::string mem = ProcField("/proc/meminfo", "MemTotal");  // "131072 kB"
  h.memory_bytes = std::strtoll(mem.c_str(), nullptr, 10) * 1024;
  h.gemm = kernels::GemmBackendDescription();
  return h;
}

}  // namespace ogai::train
