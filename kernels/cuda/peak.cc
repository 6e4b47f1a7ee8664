#include "kernels/cuda/peak.h"

#include <algorithm>
#include <cctype>

namespace ogai::kernels::cuda {

GpuPeak Bf16DensePeak(const std::string& device_name) {
  std::string n = device_name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::toupper(c); });
  auto has = [&](const char* s) { return n.find(s) != std::string::npos; };
  // Most specific first: "H100 NVL" and "H100 PCIE" before plain "H100" (the SXM5 part,
  // named e.g. "NVIDIA H100 80GB HBM3").
  if (has("GH200")) return {989.4, "GH200"};
  if (has("H200") && has("NVL")) return {835.5, "H200 NVL"};
  if (has("H200")) return {989.4, "H200 SXM"};
  if (has("H100") && has("NVL")) return {835.5, "H100 NVL"};
  if (has("H100") && has("PCIE")) return {756.5, "H100 PCIe"};
  if (has("H100")) return {989.4, "H100 SXM5"};
  if (has("A100")) return {312.0, "A100"};
  return {};
}

}  // namespace ogai::kernels::cuda
