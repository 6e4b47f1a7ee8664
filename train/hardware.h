// The machine a rank runs on, as the metrics file's "hardware" record states it (ogai-report
// shows it next to the curves): host name, CPU model, the cores this process may use, the
// memory, and the GEMM library in use.
#pragma once

#include <cstdint>
#include <string>

namespace ogai::train {

struct HardwareInfo {
  std::string host;
  std::string cpu;           // /proc/cpuinfo's "model name" ("" when not found)
  int cores = 0;             // CPUs in this process's affinity mask
  int online_cores = 0;      // CPUs online on the machine
  int64_t memory_bytes = 0;  // /proc/meminfo MemTotal
  std::string gemm;          // kernels::GemmBackendDescription()
};

HardwareInfo DescribeHardware();

}  // namespace ogai::train
