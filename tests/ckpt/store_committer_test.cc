// ckpt/store_committer.h over a real in-process store, two ranks as threads: a failed commit
// of a step followed by a second commit of the same step in the same round gets the second
// one's decision, not the first's; and between saves the store keeps only the last decision.
#include "ckpt/store_committer.h"

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store/memory_store.h"

namespace ogai::ckpt {
namespace {

using std::chrono::milliseconds;

// One save on both ranks: prepare (rank 0 OK), vote with `local[r]`, decide; each rank's outcome.
std::vector<Status> Save(std::vector<std::unique_ptr<StoreCommitter>>& c, int64_t step,
                         const std::vector<Status>& local) {
  std::vector<Status> out(c.size());
  std::vector<std::thread> t;
  for (size_t r = 0; r < c.size(); ++r) {
    t.emplace_back([&, r] {
      Status st = c[r]->BeginSave(step, Status::Ok());
      auto votes = c[r]->Vote(step, pb::ShardIndex{}, st.ok() ? local[r] : st);
      Status outcome = votes.ok() ? local[r] : votes.status();
      out[r] = c[r]->Decide(step, outcome);
    });
  }
  for (auto& th : t) th.join();
  return out;
}

TEST(StoreCommitter, ASecondCommitOfAStepGetsItsOwnDecision) {
  auto store = std::make_shared<store::MemoryStore>();
  std::vector<std::unique_ptr<StoreCommitter>> c;
  for (int r = 0; r < 2; ++r) c.push_back(std::make_unique<StoreCommitter>(store, r, 2, milliseconds(10000)));
  // Step 6 fails on rank 1: both ranks hear it.
  auto first = Save(c, 6, {Status::Ok(), Internal("disk full")});
  EXPECT_FALSE(first[0].ok());
  EXPECT_FALSE(first[1].ok());
  EXPECT_NE(first[1].message().find("disk full"), std::string::npos) << first[1].ToString();
  // The same step again, now fine on both: committed, on both (not the first commit's failure).
  auto second = Save(c, 6, {Status::Ok(), Status::Ok()});
  EXPECT_TRUE(second[0].ok()) << second[0].ToString();
  EXPECT_TRUE(second[1].ok()) << second[1].ToString();
  // A later step: the store keeps that save's decision only.
  auto third = Save(c, 9, {Status::Ok(), Status::Ok()});
  EXPECT_TRUE(third[0].ok() && third[1].ok());
  auto keys = store->ListKeys("ckpt/");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, std::vector<std::string>{"ckpt/9/decision"});
}

}  // namespace
}  // namespace ogai::ckpt
