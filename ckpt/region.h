// Regions of a global tensor, and how two of them overlap: the geometry of resharding.
//
// Every part of a tensor that a rank holds or a checkpoint stores is a Region: a box of the
// global tensor (begin and extent per dimension) restricted to a contiguous range
// [flat_begin, flat_end) of the box's row-major element order. This one shape covers
//   * a tensor-parallel shard: a slice along one dimension (a box, whole flat range);
//   * a replicated tensor split over data-parallel ranks so each element is written once:
//     the whole tensor's box, a cut of its flat range;
//   * a ZeRO-1 optimizer shard, a range of the flat parameter buffer that cuts through
//     tensors: per tensor, its TP box with a cut of the flat range.
// The elements of a Region are stored contiguously in that order.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::ckpt {

struct Region {
  std::vector<int64_t> begin;   // per dimension, in global coordinates
  std::vector<int64_t> extent;  // per dimension
  int64_t flat_begin = 0;       // first element held, in the box's row-major order
  int64_t flat_end = 0;         // one past the last

  // The whole tensor of `shape`.
  static Region Whole(const std::vector<int64_t>& shape);
  // A box with its whole flat range.
  static Region Box(std::vector<int64_t> begin, std::vector<int64_t> extent);

  int64_t box_numel() const;
  int64_t numel() const { return flat_end - flat_begin; }
  // The elements [lo, hi) of this region (counted from flat_begin) as a region.
  Region Sub(int64_t lo, int64_t hi) const;
  // OK when the box lies inside `shape` and the flat range inside the box.
  Status CheckWithin(const std::vector<int64_t>& shape) const;
  // "[0:768, 256:512] elements [0, 196608)" for messages.
  std::string ToString() const;
};

// Calls fn(src_offset, dst_offset, count) for every maximal run of elements that both
// regions hold and that is contiguous in both; offsets count elements from each region's
// flat_begin. Both regions must have the same number of dimensions. Cost: proportional to
// the rows (all dimensions but the last) that src's flat range spans.
void ForEachOverlap(const Region& src, const Region& dst, const std::function<void(int64_t, int64_t, int64_t)>& fn);

// Number of elements both regions hold.
int64_t OverlapCount(const Region& a, const Region& b);

}  // namespace ogai::ckpt
