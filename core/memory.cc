#include "core/memory.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace ogai {
namespace {

std::atomic<int64_t> g_current[kNumMemCategories];
std::atomic<int64_t> g_peak[kNumMemCategories];
std::atomic<int64_t> g_total_current{0};
std::atomic<int64_t> g_total_peak{0};

void AtomicMax(std::atomic<int64_t>& a, int64_t v) {
  int64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

void Track(MemCategory c, int64_t delta) {
  int i = static_cast<int>(c);
  int64_t now = g_current[i].fetch_add(delta) + delta;
  int64_t total = g_total_current.fetch_add(delta) + delta;
  if (delta > 0) {
    AtomicMax(g_peak[i], now);
    AtomicMax(g_total_peak, total);
  }
}

}  // namespace

const char* MemCategoryName(MemCategory c) {
  switch (c) {
    case MemCategory::kParameters: return "parameters";
    case MemCategory::kGradients: return "gradients";
    case MemCategory::kOptimizerState: return "optimizer";
    case MemCategory::kActivations: return "activations";
    case MemCategory::kStaging: return "staging";
    case MemCategory::kComm: return "comm";
    case MemCategory::kOther: return "other";
    case MemCategory::kCount: break;
  }
  return "?";
}

MemStats GetMemStats() {
  MemStats s;
  for (int i = 0; i < kNumMemCategories; ++i) {
    s.by_category[i].current = g_current[i].load();
    s.by_category[i].peak = g_peak[i].load();
  }
  s.total_current = g_total_current.load();
  s.total_peak = g_total_peak.load();
  return s;
}

void ResetMemPeaks() {
  for (int i = 0; i < kNumMemCategories; ++i) g_peak[i].store(g_current[i].load());
  g_total_peak.store(g_total_current.load());
}

std::string FormatBytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string FormatMemStats(const MemStats& s) {
  std::string out;
  for (int i = 0; i < kNumMemCategories; ++i) {
    if (s.by_category[i].peak == 0) continue;
    if (!out.empty()) out += ", ";
    out += MemCategoryName(static_cast<MemCategory>(i));
    out += " " + FormatBytes(s.by_category[i].current);
    out += " (peak ";
    out += FormatBytes(s.by_category[i].peak);
    out += ")";
  }
  out += "; total peak ";
  out += FormatBytes(s.total_peak);
  return out;
}

Buffer::Buffer(size_t bytes, MemCategory category) : bytes_(bytes), category_(category) {
  if (bytes_ == 0) return;
  size_t rounded = (bytes_ + 63) / 64 * 64;
  data_ = std::aligned_alloc(64, rounded);
  if (data_ == nullptr) throw std::bad_alloc();
  std::memset(data_, 0, rounded);
  Track(category_, static_cast<int64_t>(bytes_));
}

Buffer::~Buffer() { reset(); }

void Buffer::reset() {
  if (data_ != nullptr) {
    std::free(data_);
    Track(category_, -static_cast<int64_t>(bytes_));
  }
  data_ = nullptr;
  bytes_ = 0;
}

Buffer::Buffer(Buffer&& o) noexcept : data_(o.data_), bytes_(o.bytes_), category_(o.category_) {
  o.data_ = nullptr;
  o.bytes_ = 0;
}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    reset();
    data_ = o.data_;
    bytes_ = o.bytes_;
    category_ = o.category_;
    o.data_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

int64_t ResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  long size = 0, resident = 0;
  int n = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (n != 2) return -1;
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

namespace {
// The first integer in `path` (after `key` when given), or -1 ("max" and unreadable files too).
int64_t ReadNumber(const char* path, const char* key) {
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return -1;
  int64_t v = -1;
  char line[256];
  const size_t klen = key ? std::strlen(key) : 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (key != nullptr && std::strncmp(line, key, klen) != 0) continue;
    long long x = 0;
    if (std::sscanf(line + klen, "%lld", &x) == 1) v = x;
    break;
  }
  std::fclose(f);
  return v;
}
}  // namespace

int64_t AvailableMemoryBytes() {
  int64_t avail = ReadNumber("/proc/meminfo", "MemAvailable:");
  if (avail >= 0) avail *= 1024;
  const int64_t max = ReadNumber("/sys/fs/cgroup/memory.max", nullptr);
  const int64_t cur = ReadNumber("/sys/fs/cgroup/memory.current", nullptr);
  if (max > 0 && cur >= 0) {
    const int64_t left = max > cur ? max - cur : 0;
    avail = avail < 0 ? left : std::min(avail, left);
  }
  return avail;
}

}  // namespace ogai
