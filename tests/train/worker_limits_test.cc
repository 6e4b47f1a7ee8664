// ogai-worker on configs that cannot run (issue 12): too big for the node's memory, or an
// allocation that fails anyway. One clear line and a non-zero exit, never an abort.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "tests/util/child.h"

namespace {

std::string Bin(const char* name) {
  const char* b = std::getenv("OGAI_BUILD_DIR");  // set by ctest (tests/CMakeLists.txt)
  return std::string(b != nullptr ? b : OGAI_TEST_BUILD_DIR) + "/bin/" + name;
}
const std::string kTiny = std::string(OGAI_TEST_SOURCE_DIR) + "/examples/tiny.yaml";

// d_model=2^30 used to abort in std::bad_alloc; at the schema's limits a model too big for
// the node is refused with the estimate before anything is allocated.
TEST(WorkerLimits, ALayoutThatCannotFitIsRefusedWithTheNumbers) {
  auto r = ogai::testing::RunChild(
      {Bin("ogai-worker"), kTiny, "model.d_model=65536", "model.heads=64", "model.layers=8", "train.steps=1"}, 60);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("this layout needs "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" GiB available"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << r.output;
}

// An allocation that fails anyway (here: a virtual-memory limit the estimate does not see)
// gives one line, not "terminate called ... std::bad_alloc" and SIGABRT.
TEST(WorkerLimits, AllocationFailureIsOneClearLine) {
  auto r = ogai::testing::RunChild(
      {"/bin/sh", "-c",
       "ulimit -v 1500000; exec " + Bin("ogai-worker") + " " + kTiny + " data.demo_tokens=400000000 train.steps=1"},
      120);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("ogai-worker: out of memory: an allocation failed"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << r.output;
}

}  // namespace
