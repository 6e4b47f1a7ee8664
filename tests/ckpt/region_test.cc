// ckpt/region.h: the geometry every save and load goes through. Random regions of random
// shapes against an element-by-element reference, and regions outside their tensor refused.
#include "ckpt/region.h"

#include <map>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "tests/ckpt/region_elements.h"

namespace ogai::ckpt {
namespace {

using testing::Elements;

Region RandomRegion(std::mt19937& rng, const std::vector<int64_t>& shape) {
  Region r;
  for (int64_t s : shape) {
    int64_t a = std::uniform_int_distribution<int64_t>(0, s - 1)(rng);
    int64_t b = std::uniform_int_distribution<int64_t>(a + 1, s)(rng);
    r.begin.push_back(a);
    r.extent.push_back(b - a);
  }
  const int64_t n = r.box_numel();
  r.flat_begin = std::uniform_int_distribution<int64_t>(0, n - 1)(rng);
  r.flat_end = std::uniform_int_distribution<int64_t>(r.flat_begin + 1, n)(rng);
  if (rng() % 3 == 0) {  // often the whole box, as a TP shard is
    r.flat_begin = 0;
    r.flat_end = n;
  }
  return r;
}

TEST(Region, OverlapMatchesElementByElementIntersection) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 3000; ++trial) {
    const int nd = 1 + static_cast<int>(rng() % 3);
    std::vector<int64_t> shape;
    for (int d = 0; d < nd; ++d) shape.push_back(1 + static_cast<int64_t>(rng() % 7));
    const Region a = RandomRegion(rng, shape), b = RandomRegion(rng, shape);
    ASSERT_TRUE(a.CheckWithin(shape).ok());
    const auto ea = Elements(a, shape), eb = Elements(b, shape);
    std::map<int64_t, int64_t> pos_b;
    for (size_t i = 0; i < eb.size(); ++i) pos_b[eb[i]] = static_cast<int64_t>(i);
    std::set<int64_t> want;
    for (int64_t g : ea)
      if (pos_b.count(g)) want.insert(g);
    std::set<int64_t> got;
    int64_t total = 0;
    ForEachOverlap(a, b, [&](int64_t so, int64_t dso, int64_t n) {
      ASSERT_GT(n, 0);
      for (int64_t k = 0; k < n; ++k) {
        ASSERT_LT(so + k, static_cast<int64_t>(ea.size()));
        ASSERT_LT(dso + k, static_cast<int64_t>(eb.size()));
        ASSERT_EQ(ea[so + k], eb[dso + k]) << "trial " << trial;
        got.insert(ea[so + k]);
      }
      total += n;
    });
    ASSERT_EQ(got, want) << "trial " << trial << " a=" << a.ToString() << " b=" << b.ToString();
    ASSERT_EQ(total, static_cast<int64_t>(want.size())) << "an element was reported twice";
    ASSERT_EQ(OverlapCount(a, b), total);
  }
}

TEST(Region, RejectsRegionsOutsideTheTensor) {
  EXPECT_FALSE(Region::Box({0, 2}, {4, 4}).CheckWithin({4, 5}).ok());
  EXPECT_FALSE(Region::Box({0}, {4}).CheckWithin({4, 4}).ok());
  Region r = Region::Whole({3, 3});
  r.flat_end = 10;
  EXPECT_FALSE(r.CheckWithin({3, 3}).ok());
  EXPECT_TRUE(Region::Whole({3, 3}).Sub(2, 7).CheckWithin({3, 3}).ok());
}

}  // namespace
}  // namespace ogai::ckpt
