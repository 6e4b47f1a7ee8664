#include "ckpt/region.h"

#include <algorithm>

namespace ogai::ckpt {

Region Region::Whole(const std::vector<int64_t>& shape) { return Box(std::vector<int64_t>(shape.size(), 0), shape); }

Region Region::Box(std::vector<int64_t> begin, std::vector<int64_t> extent) {
  Region r;
  r.begin = std::move(begin);
  r.extent = std::move(extent);
  r.flat_begin = 0;
  r.flat_end = r.box_numel();
  return r;
}

int64_t Region::box_numel() const {
  // Saturating: a crafted manifest's extents must not overflow (ToString and CheckWithin
  // call this before they know the box is sane).
  int64_t n = 1;
  for (int64_t e : extent) {
    if (__builtin_mul_overflow(n, e, &n)) return INT64_MAX;
  }
  return n;
}

Region Region::Sub(int64_t lo, int64_t hi) const {
  Region r = *this;
  r.flat_begin = flat_begin + lo;
  r.flat_end = flat_begin + hi;
  return r;
}

Status Region::CheckWithin(const std::vector<int64_t>& shape) const {
  if (begin.size() != shape.size() || extent.size() != shape.size()) {
    return InvalidArgument("region " + ToString() + " has " + std::to_string(begin.size()) +
                           " dimensions, the tensor " + std::to_string(shape.size()));
  }
  for (size_t d = 0; d < shape.size(); ++d) {
    if (begin[d] < 0 || extent[d] < 0 || begin[d] > shape[d] || extent[d] > shape[d] - begin[d]) {
      return InvalidArgument("region " + ToString() + " does not fit dimension " + std::to_string(d) + " of size " +
                             std::to_string(shape[d]));
    }
  }
  if (flat_begin < 0 || flat_begin > flat_end || flat_end > box_numel()) {
    return InvalidArgument("region " + ToString() + ": element range outside its box of " +
                           std::to_string(box_numel()));
  }
  return Status::Ok();
}

std::string Region::ToString() const {
  std::string s = "[";
  // begin and extent may differ in length here (a crafted manifest; fuzz_ckpt found it).
  for (size_t d = 0; d < std::max(begin.size(), extent.size()); ++d) {
    if (d > 0) s += ", ";
    const int64_t b = d < begin.size() ? begin[d] : 0, e = d < extent.size() ? extent[d] : 0;
    int64_t end = 0;
    s += std::to_string(b) + ":" + (__builtin_add_overflow(b, e, &end) ? "overflow" : std::to_string(end));
  }
  s += "]";
  if (flat_begin != 0 || flat_end != box_numel()) {
    s += " elements [" + std::to_string(flat_begin) + ", " + std::to_string(flat_end) + ")";
  }
  return s;
}

void ForEachOverlap(const Region& src, const Region& dst, const std::function<void(int64_t, int64_t, int64_t)>& fn) {
  if (src.numel() <= 0 || dst.numel() <= 0 || src.begin.size() != dst.begin.size()) return;
  const size_t nd = src.begin.size();
  if (nd == 0) {  // scalars: one element each
    fn(0, 0, 1);
    return;
  }
  const size_t L = nd - 1;
  // The boxes must meet in every dimension.
  for (size_t d = 0; d < nd; ++d) {
    const int64_t lo = std::max(src.begin[d], dst.begin[d]);
    const int64_t hi = std::min(src.begin[d] + src.extent[d], dst.begin[d] + dst.extent[d]);
    if (lo >= hi) return;
  }
  const int64_t se = src.extent[L], de = dst.extent[L];
  const int64_t seg_lo = std::max(src.begin[L], dst.begin[L]);
  const int64_t seg_hi = std::min(src.begin[L] + se, dst.begin[L] + de);
  const int64_t r0 = src.flat_begin / se;
  const int64_t r1 = (src.flat_end + se - 1) / se;

  // Odometer over src's row coordinates (all dimensions but the last), starting at row r0.
  std::vector<int64_t> coord(L, 0);
  {
    int64_t r = r0;
    for (size_t d = L; d-- > 0;) {
      coord[d] = r % src.extent[d];
      r /= src.extent[d];
    }
  }
  int64_t pend_src = -1, pend_dst = -1, pend_n = 0;
  auto flush = [&]() {
    if (pend_n > 0) fn(pend_src, pend_dst, pend_n);
    pend_n = 0;
  };
  for (int64_t r = r0; r < r1; ++r) {
    bool inside = true;
    int64_t rd = 0;  // dst's row index of this row
    for (size_t d = 0; d < L; ++d) {
      const int64_t g = src.begin[d] + coord[d];
      const int64_t local = g - dst.begin[d];
      if (local < 0 || local >= dst.extent[d]) {
        inside = false;
        break;
      }
      rd = rd * dst.extent[d] + local;
    }
    if (inside) {
      // Clip the shared segment to both flat ranges (slope 1 in both along the last dim).
      int64_t a = seg_lo, b = seg_hi;
      a = std::max(a, src.begin[L] + src.flat_begin - r * se);
      b = std::min(b, src.begin[L] + src.flat_end - r * se);
      a = std::max(a, dst.begin[L] + dst.flat_begin - rd * de);
      b = std::min(b, dst.begin[L] + dst.flat_end - rd * de);
      if (a < b) {
        const int64_t so = r * se + (a - src.begin[L]) - src.flat_begin;
        const int64_t dso = rd * de + (a - dst.begin[L]) - dst.flat_begin;
        const int64_t n = b - a;
        if (pend_n > 0 && pend_src + pend_n == so && pend_dst + pend_n == dso) {
          pend_n += n;
        } else {
          flush();
          pend_src = so;
          pend_dst = dso;
          pend_n = n;
        }
      }
    }
    for (size_t d = L; d-- > 0;) {  // next row
      if (++coord[d] < src.extent[d]) break;
      coord[d] = 0;
    }
  }
  flush();
}

int64_t OverlapCount(const Region& a, const Region& b) {
  int64_t n = 0;
  ForEachOverlap(a, b, [&](int64_t, int64_t, int64_t c) { n += c; });
  return n;
}

}  // namespace ogai::ckpt
