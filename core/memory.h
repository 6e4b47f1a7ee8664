// Host memory with accounting by category.
//
// Every large allocation the runtime makes (parameters, gradients, optimizer state,
// activations, checkpoint staging, communication buffers) goes through Buffer, which is
// 64-byte aligned and counted in its category. MemoryStats() reports the current and peak
// bytes per category; `-v` prints them and the memory tests check them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ogai {

enum class MemCategory : int {
  kParameters = 0,
  kGradients,
  kOptimizerState,
  kActivations,
  kStaging,  // checkpoint host staging
  kComm,     // communication scratch
  kOther,
  kCount,
};
constexpr int kNumMemCategories = static_cast<int>(MemCategory::kCount);

const char* MemCategoryName(MemCategory c);

struct MemCategoryStats {
  int64_t current = 0;
  int64_t peak = 0;
};
struct MemStats {
  std::array<MemCategoryStats, kNumMemCategories> by_category{};
  int64_t total_current = 0;
  int64_t total_peak = 0;
  const MemCategoryStats& operator[](MemCategory c) const { return by_category[static_cast<int>(c)]; }
};

MemStats GetMemStats();
// Sets every peak to the current value (for measuring one phase).
void ResetMemPeaks();
// "parameters 474.9 MiB (peak 474.9 MiB), gradients ..." — for logs.
std::string FormatMemStats(const MemStats& s);
// Human-readable byte count: "12.0 MiB".
std::string FormatBytes(int64_t bytes);

// A 64-byte aligned, zero-initialised, move-only byte buffer counted in one category.
class Buffer {
 public:
  Buffer() = default;
  Buffer(size_t bytes, MemCategory category);
  ~Buffer();
  Buffer(Buffer&& o) noexcept;
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <typename T>
  T* as() {
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* as() const {
    return static_cast<const T*>(data_);
  }
  size_t size() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }
  MemCategory category() const { return category_; }
  void reset();

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  MemCategory category_ = MemCategory::kOther;
};

// Resident set size of this process in bytes (from /proc/self/statm), or -1.
int64_t ResidentBytes();

// Memory this machine can still give a new process, in bytes: MemAvailable from
// /proc/meminfo, lowered to what the cgroup (v2 memory.max - memory.current) allows when it
// has a limit; -1 when neither can be read.
int64_t AvailableMemoryBytes();

}  // namespace ogai
