// The global flat index of each element a checkpoint region holds, in its order: the
// reference the region and resharding tests check ckpt/region.h against. Header-only, so that
// the test utilities need not link the checkpoint library.
#pragma once

#include <cstdint>
#include <vector>

#include "ckpt/region.h"

namespace ogai::ckpt::testing {

inline std::vector<int64_t> Elements(const Region& r, const std::vector<int64_t>& shape) {
  std::vector<int64_t> out;
  for (int64_t i = r.flat_begin; i < r.flat_end; ++i) {
    int64_t rem = i, g = 0;
    std::vector<int64_t> c(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
      c[d] = rem % r.extent[d] + r.begin[d];
      rem /= r.extent[d];
    }
    for (size_t d = 0; d < shape.size(); ++d) g = g * shape[d] + c[d];
    out.push_back(g);
  }
  return out;
}

}  // namespace ogai::ckpt::testing
