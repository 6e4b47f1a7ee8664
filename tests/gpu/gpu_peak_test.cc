// The bf16 dense peak table MFU is measured against (kernels/cuda/peak.h), by the names the CUDA
// runtime gives: the specific parts (NVL, PCIe) must not fall through to the SXM figure.
#include <gtest/gtest.h>

#include "kernels/cuda/peak.h"

namespace ogai::kernels::cuda {
namespace {

TEST(GpuPeak, KnowsH100AndH200) {
  EXPECT_DOUBLE_EQ(Bf16DensePeak("NVIDIA H100 80GB HBM3").bf16_tflops, 989.4);
  EXPECT_EQ(Bf16DensePeak("NVIDIA H100 80GB HBM3").model, "H100 SXM5");
  EXPECT_DOUBLE_EQ(Bf16DensePeak("NVIDIA H100 PCIe").bf16_tflops, 756.5);
  EXPECT_DOUBLE_EQ(Bf16DensePeak("NVIDIA H100 NVL").bf16_tflops, 835.5);
  EXPECT_DOUBLE_EQ(Bf16DensePeak("NVIDIA H200").bf16_tflops, 989.4);
  EXPECT_DOUBLE_EQ(Bf16DensePeak("NVIDIA H200 NVL").bf16_tflops, 835.5);
  EXPECT_DOUBLE_EQ(Bf16DensePeak("NVIDIA A100-SXM4-80GB").bf16_tflops, 312.0);
}

TEST(GpuPeak, UnknownIsZero) {
  EXPECT_EQ(Bf16DensePeak("NVIDIA GeForce RTX 4090").bf16_tflops, 0.0);
  EXPECT_EQ(Bf16DensePeak("").model, "");
}

}  // namespace
}  // namespace ogai::kernels::cuda
