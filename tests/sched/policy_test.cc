// The scheduling policy alone (sched/policy.h): gang admission, quotas with borrowing and
// reclaim, priorities, victims by least lost work and minimum run time, backfill, fair share
// between two tenants over a run of jobs (a discrete-time simulation of the pass), and the
// refusal of a job that can never fit.
#include "sched/policy.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "sched/fairshare.h"
#include "sched/placement.h"

namespace ogai::sched {
namespace {

struct World {
  PolicyInput in;
  int64_t next = 1;
  World(std::vector<Node> nodes, std::vector<Tenant> tenants) {
    in.nodes = std::move(nodes);
    for (auto& t : tenants) in.tenants[t.name] = t;
    in.now_unix = 1000;
  }
  Job& Add(const std::string& tenant, int ranks, int priority = 0) {
    Job j;
    j.id = next++;
    j.tenant = tenant;
    j.ranks = ranks;
    j.priority = priority;
    in.jobs.push_back(j);
    return in.jobs.back();
  }
  Job& Get(int64_t id) {
    for (Job& j : in.jobs)
      if (j.id == id) return j;
    throw std::runtime_error("no job");
  }
  // Runs a pass and applies its starts (as the daemon does); returns it.
  PolicyOutput Pass() {
    PolicyOutput out = SchedulePass(in);
    for (const auto& s : out.start) {
      Job& j = Get(s.job);
      j.state = JobState::kRunning;
      j.hosts = s.hosts;
      j.backfilled = s.backfilled;
      j.start_unix = in.now_unix;
    }
    for (int64_t id : out.preempt) Get(id).state = JobState::kPreempting;
    return out;
  }
  void Stop(int64_t id, JobState to = JobState::kPending) {
    Job& j = Get(id);
    j.state = to;
    j.hosts.clear();
    j.backfilled = false;
  }
};

Node N(const std::string& name, int slots) {
  Node n;
  n.name = name;
  n.slots = slots;
  return n;
}

Tenant T(const std::string& name, int quota, int borrow = 0) {
  Tenant t;
  t.name = name;
  t.quota = quota;
  t.borrow_limit = borrow;
  return t;
}

bool Started(const PolicyOutput& o, int64_t id) {
  return std::any_of(o.start.begin(), o.start.end(), [&](const StartDecision& s) { return s.job == id; });
}

TEST(SchedPolicy, GangAdmissionIsAllRanksOrNone) {
  World w({N("a", 2), N("b", 2)}, {T("t", 8)});
  const int64_t j1 = w.Add("t", 3).id;
  const int64_t j2 = w.Add("t", 2).id;  // 1 slot left after j1: must not start with part of its ranks
  PolicyOutput o = w.Pass();
  ASSERT_TRUE(Started(o, j1));
  int placed = 0;
  for (const auto& p : o.start[0].hosts) placed += p.slots;
  EXPECT_EQ(placed, 3);
  EXPECT_FALSE(Started(o, j2));
  EXPECT_EQ(o.reasons[j2], "Resources");
  // j1 ends: j2 gets all of its ranks.
  w.Stop(j1, JobState::kCompleted);
  o = w.Pass();
  EXPECT_TRUE(Started(o, j2));
}

TEST(SchedPolicy, PlacementPrefersOneNodeThatFitsTightly) {
  FreeSlots f;
  f.Add("a", 4);
  f.Add("b", 2);
  f.Add("c", 8);
  auto p = PlaceGang(f, 2);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ((*p)[0].node, "b");
  p = PlaceGang(f, 10);  // c (8) + a (2 of 4)
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].node, "c");
  EXPECT_EQ((*p)[1].slots, 2);
  EXPECT_FALSE(PlaceGang(f, 15));
}

TEST(SchedPolicy, UnusedQuotaIsLentAndReclaimedByPreemption) {
  World w({N("n", 8)}, {T("alice", 4, 4), T("bob", 4)});
  const int64_t a1 = w.Add("alice", 4).id;
  const int64_t a2 = w.Add("alice", 4).id;  // borrows bob's unused 4
  PolicyOutput o = w.Pass();
  EXPECT_TRUE(Started(o, a1));
  EXPECT_TRUE(Started(o, a2));
  const int64_t a3 = w.Add("alice", 2).id;  // beyond quota + borrow limit: waits on Quota
  o = w.Pass();
  EXPECT_EQ(o.reasons[a3], "Quota");
  // bob wants his quota back: one of alice's jobs (the borrowed part) is preempted, never both.
  w.in.now_unix += 100;
  w.Get(a1).lost_work = 50;
  w.Get(a2).lost_work = 10;  // least work lost: the victim
  const int64_t b1 = w.Add("bob", 4).id;
  o = w.Pass();
  ASSERT_EQ(o.preempt.size(), 1u);
  EXPECT_EQ(o.preempt[0], a2);
  EXPECT_EQ(o.reasons[b1], "Resources");
  EXPECT_FALSE(Started(o, a3));
  // Nothing more is asked while the victim stops.
  o = w.Pass();
  EXPECT_TRUE(o.preempt.empty());
  // The victim stopped and is pending again: bob starts, alice's job waits (her borrowing would
  // take quota bob's waiting job claims).
  w.Stop(a2);
  o = w.Pass();
  EXPECT_TRUE(Started(o, b1));
  EXPECT_FALSE(Started(o, a2));
  EXPECT_EQ(o.reasons[a2], "Quota");
}

TEST(SchedPolicy, BorrowingWaitsWhileAnOwnerWaitsForItsQuota) {
  World w({N("n", 4)}, {T("alice", 2, 2), T("bob", 2)});
  const int64_t b = w.Add("bob", 2).id;
  w.Get(b).held = true;  // held: claims nothing
  const int64_t a1 = w.Add("alice", 2).id;
  const int64_t a2 = w.Add("alice", 2).id;
  PolicyOutput o = w.Pass();
  EXPECT_TRUE(Started(o, a1));
  EXPECT_TRUE(Started(o, a2));
  EXPECT_EQ(o.reasons[b], "Held");
}

TEST(SchedPolicy, VictimsRespectMinimumRuntimeAndChooseLeastLostWork) {
  World w({N("n", 4)}, {T("t", 8)});
  const int64_t low1 = w.Add("t", 2, 0).id;
  const int64_t low2 = w.Add("t", 2, 0).id;
  w.Pass();
  w.Get(low1).min_runtime_s = 600;  // protected for 10 minutes
  w.Get(low1).lost_work = 1;
  w.Get(low2).lost_work = 99;
  w.in.now_unix += 60;
  const int64_t high = w.Add("t", 2, 10).id;
  PolicyOutput o = w.Pass();
  ASSERT_EQ(o.preempt.size(), 1u);
  EXPECT_EQ(o.preempt[0], low2) << "low1 loses less, but is younger than its --min-runtime";
  w.Stop(low2);
  o = w.Pass();
  EXPECT_TRUE(Started(o, high));
  // Once past its minimum run time the job that loses least is chosen.
  World v({N("n", 4)}, {T("t", 8)});
  const int64_t x = v.Add("t", 2).id, y = v.Add("t", 2).id;
  v.Pass();
  v.Get(x).lost_work = 5;
  v.Get(y).lost_work = 7;
  v.Add("t", 2, 1);
  o = v.Pass();
  ASSERT_EQ(o.preempt.size(), 1u);
  EXPECT_EQ(o.preempt[0], x);
}

TEST(SchedPolicy, NoPreemptionWhenNoSetOfVictimsMakesTheHeadFit) {
  World w({N("n", 4)}, {T("t", 8)});
  const int64_t a = w.Add("t", 2, 5).id;
  w.Add("t", 2, 0);
  w.Pass();
  (void)a;
  w.Add("t", 4, 1);  // needs both; only the priority-0 job is a candidate
  PolicyOutput o = w.Pass();
  EXPECT_TRUE(o.preempt.empty());
}

TEST(SchedPolicy, BackfillRunsSmallJobsTheHeadCanTakeBack) {
  World w({N("n", 4)}, {T("t", 8)});
  const int64_t big = w.Add("t", 3).id;
  w.Pass();  // big runs on 3 of 4
  const int64_t head = w.Add("t", 4).id;
  const int64_t small = w.Add("t", 1).id;
  PolicyOutput o = w.Pass();
  EXPECT_EQ(o.reasons[head], "Resources");
  ASSERT_TRUE(Started(o, small));
  EXPECT_TRUE(w.Get(small).backfilled);
  // big ends: the head takes the backfilled job's slot back at once.
  w.Stop(big, JobState::kCompleted);
  o = w.Pass();
  ASSERT_EQ(o.preempt.size(), 1u);
  EXPECT_EQ(o.preempt[0], small);
  const int64_t later = w.Add("t", 1).id;
  o = w.Pass();
  EXPECT_EQ(o.reasons[later], "Priority") << "the head's slots are reserved while its victim stops";
}

TEST(SchedPolicy, PriorityOrdersTheQueue) {
  World w({N("n", 2)}, {T("t", 8)});
  w.Add("t", 2, 0);
  const int64_t hi = w.Add("t", 2, 5).id;
  PolicyOutput o = w.Pass();
  ASSERT_EQ(o.start.size(), 1u);
  EXPECT_EQ(o.start[0].job, hi);
}

// Two tenants with equal quotas share a pool of 4 slots; alice submits three times as many
// jobs as bob. Every job takes the whole pool for 10 time units. Ordered by decayed usage the
// pool's time is split about evenly while both have work queued.
TEST(SchedPolicy, FairShareSplitsThePoolByDecayedUsage) {
  World w({N("n", 4)}, {T("alice", 4), T("bob", 4)});
  for (int i = 0; i < 30; ++i) w.Add("alice", 4);
  for (int i = 0; i < 10; ++i) w.Add("bob", 4);
  std::map<std::string, int> ran;
  std::map<int64_t, double> ends;
  const double half_life = 200;
  int bob_done_at = -1;
  for (int t = 0; t < 400; ++t) {
    w.in.now_unix = 1000 + t;
    for (auto& [id, end] : ends) {
      if (end == w.in.now_unix) w.Stop(id, JobState::kCompleted);
    }
    std::map<std::string, int> running;
    for (const Job& j : w.in.jobs)
      if (IsActive(j.state)) running[j.tenant] += j.ranks;
    for (auto& [name, tenant] : w.in.tenants) AccrueUsage(tenant, running[name], w.in.now_unix, half_life);
    PolicyOutput o = w.Pass();
    for (const auto& s : o.start) {
      ends[s.job] = w.in.now_unix + 10;
      ++ran[w.Get(s.job).tenant];
    }
    if (bob_done_at < 0 && ran["bob"] == 10) bob_done_at = t;
  }
  // Bob's 10 jobs are done within the first ~20 jobs (alternating), not after alice's 30.
  EXPECT_EQ(ran["bob"], 10);
  EXPECT_LE(bob_done_at, 220) << "bob's jobs waited behind alice's";
  EXPECT_GE(bob_done_at, 180) << "bob ran ahead of his share";
  EXPECT_EQ(ran["alice"], 30);
}

TEST(SchedPolicy, DecayHalvesUsageEveryHalfLife) {
  EXPECT_DOUBLE_EQ(Decay(100, 60, 60), 50);
  Tenant t = T("x", 1);
  AccrueUsage(t, 4, 1000, 1e9);  // first call only stamps
  AccrueUsage(t, 4, 1010, 1e9);  // 4 ranks x 10 s, no decay to speak of
  EXPECT_NEAR(t.usage, 40, 1e-3);
}

TEST(SchedPolicy, AJobThatCanNeverFitIsRefusedWithTheNumbers) {
  Job j;
  j.ranks = 9;
  const std::string q = NeverFits(j, T("alice", 4, 2), {N("n", 16)});
  EXPECT_NE(q.find("needs 9 ranks"), std::string::npos) << q;
  EXPECT_NE(q.find("at most 6 (quota 4 + borrow limit 2)"), std::string::npos) << q;
  const std::string s = NeverFits(j, T("alice", 16), {N("n", 4), N("m", 4)});
  EXPECT_NE(s.find("the pool has 8 slots"), std::string::npos) << s;
  EXPECT_EQ(NeverFits(j, T("alice", 16), {N("n", 16)}), "");
}

TEST(SchedPolicy, HostsTextRoundTrips) {
  const std::vector<Placement> p = {{"127.0.0.2", 2}, {"node-b", 1}};
  EXPECT_EQ(HostsText(p), "127.0.0.2:2,node-b:1");
  const auto q = ParseHostsText(HostsText(p));
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].node, "127.0.0.2");
  EXPECT_EQ(q[1].slots, 1);
}

}  // namespace
}  // namespace ogai::sched
