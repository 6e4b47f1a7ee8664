// Fewer points for a long series, keeping its shape: the series is cut into buckets of
// consecutive points and each bucket keeps its lowest and its highest point (in their
// order), plus the first and the last point of the series. A spike of one step survives,
// which averaging would hide; 100,000 steps become at most 2 x buckets + 2 points, so the
// browser draws them in milliseconds (docs/dashboard.md).
#pragma once

#include <cstddef>
#include <vector>

namespace ogai::web {

// The indices to keep of `y` (ascending). Every index when y.size() <= 2 * buckets. NaN
// values are never chosen as a bucket's extreme.
std::vector<size_t> DownsampleMinMax(const std::vector<double>& y, size_t buckets);

// The sorted union of index lists.
std::vector<size_t> MergeIndices(const std::vector<std::vector<size_t>>& lists);

}  // namespace ogai::web
