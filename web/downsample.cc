#include "web/downsample.h"

#include <algorithm>
#include <cmath>

namespace ogai::web {

std::vector<size_t> DownsampleMinMax(const std::vector<double>& y, size_t buckets) {
  const size_t n = y.size();
  std::vector<size_t> out;
  if (n <= 2 * buckets || buckets == 0) {
    out.resize(n);
    for (size_t i = 0; i < n; ++i) out[i] = i;
    return out;
  }
  out.reserve(2 * buckets + 2);
  out.push_back(0);
  for (size_t b = 0; b < buckets; ++b) {
    const size_t lo = n * b / buckets, hi = n * (b + 1) / buckets;
    size_t imin = hi, imax = hi;
    for (size_t i = lo; i < hi; ++i) {
      if (std::isnan(y[i])) continue;
      if (imin == hi || y[i] < y[imin]) imin = i;
      if (imax == hi || y[i] > y[imax]) imax = i;
    }
    if (imin == hi) continue;  // all NaN
    const size_t first = std::min(imin, imax), second = std::max(imin, imax);
    if (first != out.back()) out.push_back(first);
    if (second != out.back()) out.push_back(second);
  }
  if (out.back() != n - 1) out.push_back(n - 1);
  return out;
}

std::vector<size_t> MergeIndices(const std::vector<std::vector<size_t>>& lists) {
  std::vector<size_t> all;
  for (const auto& l : lists) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

}  // namespace ogai::web
