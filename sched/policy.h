// One scheduling pass: which pending jobs start where, which running jobs to preempt, and why
// every other pending job waits. Pure: no I/O, no clock (the caller passes `now`), so it is
// unit-tested and benchmarked alone (tests/sched/policy_test.cc, `ogai-bench sched`).
//
// The policy, in order:
//  1. Held jobs wait (Held).
//  2. The others are taken by priority (high first), then by their tenant's fair-share factor
//     (decayed usage over quota, low first), then by submission (id).
//  3. Quota: a job whose tenant would stay within its nominal quota may run. Beyond it the
//     tenant borrows: allowed up to its borrow limit and only while the pool's tenants together
//     stay within the sum of their quotas (borrowing uses quota others leave unused).
//     Otherwise the job waits (Quota).
//  4. Gang admission: all of its ranks on free slots, or it does not start.
//  5. The first job that fits its quota but not the free slots is the head. It may preempt:
//     jobs of tenants that borrow (when the head is within its own quota: reclaim; a tenant is
//     never pushed below its quota), jobs of lower priority, and backfilled jobs; never a job
//     younger than its --min-runtime (backfilled ones excepted). Victims are taken by least
//     work lost since their last committed checkpoint until the head fits; when no set of them
//     makes it fit, nobody is preempted. The head waits (Resources).
//  6. Backfill: a later job that fits the free slots starts anyway, marked backfilled, so the
//     head can take its slots back at once and is never delayed by it. While the head waits for
//     its victims to stop, the free slots are its own and later jobs wait (Priority).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sched/types.h"

namespace ogai::sched {

struct PolicyInput {
  std::vector<Node> nodes;
  std::map<std::string, Tenant> tenants;
  std::vector<Job> jobs;  // pending and active ones (final ones are ignored)
  double now_unix = 0;
};

struct StartDecision {
  int64_t job = 0;
  std::vector<Placement> hosts;
  bool backfilled = false;
};

struct PolicyOutput {
  std::vector<StartDecision> start;
  std::vector<int64_t> preempt;            // running jobs to ask for a checkpoint and stop
  std::map<int64_t, std::string> reasons;  // pending job -> Held | Quota | Resources | Priority
};

PolicyOutput SchedulePass(const PolicyInput& in);

// Why a job can never run under this pool and quota ("" when it can): more ranks than the
// tenant's quota plus borrow limit, or than the pool's slots. Said with the numbers.
std::string NeverFits(const Job& job, const Tenant& tenant, const std::vector<Node>& nodes);

}  // namespace ogai::sched
