#include "core/memory.h"

#include <cstdint>

#include <gtest/gtest.h>

namespace ogai {
namespace {

TEST(Memory, BuffersAreAlignedZeroedAndCounted) {
  int64_t before = GetMemStats()[MemCategory::kActivations].current;
  {
    Buffer b(1000, MemCategory::kActivations);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 64, 0u);
    for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(b.as<unsigned char>()[i], 0);
    EXPECT_EQ(GetMemStats()[MemCategory::kActivations].current, before + 1000);
    Buffer moved = std::move(b);
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(GetMemStats()[MemCategory::kActivations].current, before + 1000);
  }
  EXPECT_EQ(GetMemStats()[MemCategory::kActivations].current, before);
}

TEST(Memory, PeakIsKeptUntilReset) {
  ResetMemPeaks();
  int64_t base = GetMemStats()[MemCategory::kGradients].current;
  { Buffer b(1 << 20, MemCategory::kGradients); }
  EXPECT_EQ(GetMemStats()[MemCategory::kGradients].peak, base + (1 << 20));
  ResetMemPeaks();
  EXPECT_EQ(GetMemStats()[MemCategory::kGradients].peak, base);
}

TEST(Memory, FormatBytes) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(3 << 20), "3.0 MiB");
  EXPECT_GT(ResidentBytes(), 0);
}

}  // namespace
}  // namespace ogai
