#include "core/status.h"

#include <gtest/gtest.h>

#include "core/check.h"

namespace ogai {
namespace {

Status Fails() { return InvalidArgument("bad thing"); }
Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}
Result<int> Quarter(int x) {
  OGAI_ASSIGN_OR_RETURN(int h, Half(x));
  OGAI_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}
Status Chain() {
  OGAI_RETURN_IF_ERROR(Fails());
  return Internal("not reached");
}

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s.where(), "");
}

TEST(Status, CarriesCodeMessageAndWhere) {
  Status s = Fails();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "InvalidArgument: bad thing");
  EXPECT_NE(s.where().find("tests/core/status_test.cc:"), std::string::npos) << s.where();
  EXPECT_NE(s.ToDebugString().find("[at tests/core/status_test.cc:"), std::string::npos);
}

TEST(Status, ContextIsPrepended) {
  Status s = Fails().WithContext("loading x");
  EXPECT_EQ(s.message(), "loading x: bad thing");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_TRUE(Status::Ok().WithContext("ignored").ok());
}

TEST(Status, MacrosPropagate) {
  EXPECT_EQ(Chain().message(), "bad thing");
  auto q = Quarter(12);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, 3);
  auto bad = Quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "odd: 3");
}

TEST(Status, ErrnoErrorNamesTheCause) {
  Status s = ErrnoError("open /x", ENOENT);
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_EQ(s.message(), "open /x: No such file or directory");
}

// A Result holding an error is a bug to dereference: abort naming the status, not a bare
// bad_variant_access.
TEST(StatusDeathTest, ValueOfAnErrorAbortsWithTheStatusText) {
  Result<int> r = NotFound("no such shard 'x'");
  EXPECT_DEATH((void)r.value(), "value\\(\\) called on an error Result: .*no such shard 'x'");
}

TEST(StatusDeathTest, CheckReportsBothValuesAndWhere) {
  const int tp = 4, world = 8;
  EXPECT_DEATH(OGAI_CHECK_EQ(tp * 2, world + 1),
               "check failed at tests/core/status_test.cc:[0-9]+: tp \\* 2 == world \\+ 1 \\(8 vs 9\\)");
  EXPECT_DEATH(OGAI_CHECK(tp > world), "check failed at .*: tp > world");
  OGAI_CHECK_LT(tp, world);  // holds: no abort
}

TEST(Status, ProjectPathIsRelativeToTheRoot) {
  EXPECT_EQ(ProjectPath("../../../tests/core/status_test.cc"), "tests/core/status_test.cc");
  EXPECT_EQ(ProjectPath("./core/log.cc"), "core/log.cc");
  EXPECT_EQ(ProjectPath("/elsewhere/x.cc"), "x.cc");
}

}  // namespace
}  // namespace ogai
