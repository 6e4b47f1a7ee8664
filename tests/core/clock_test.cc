// core/clock.h: the one way timestamps are shown to people (registry cards, checkpoint
// listings, reports, the scheduler's job history).
#include "core/clock.h"

#include <gtest/gtest.h>

namespace ogai {
namespace {

TEST(Clock, FormatUtcIsUtcWithOrWithoutMilliseconds) {
  EXPECT_EQ(FormatUtc(0), "-");
  EXPECT_EQ(FormatUtc(-5), "-");
  EXPECT_EQ(FormatUtc(1000.9), "1970-01-01 00:00:01 UTC");
  EXPECT_EQ(FormatUtc(1000.9, true), "1970-01-01 00:00:01.000 UTC");
  EXPECT_EQ(FormatUtc(86400000.0 + 1234.0, true), "1970-01-02 00:00:01.234 UTC");
  EXPECT_EQ(FormatUtc(1796277495843.0, true), "2026-12-03 05:58:15.843 UTC");
}

TEST(Clock, NowHasTheSameShape) {
  const std::string now = FormatUtc(UnixMs());
  ASSERT_EQ(now.size(), 23u) << now;
  EXPECT_EQ(now.substr(now.size() - 4), " UTC");
}

}  // namespace
}  // namespace ogai
