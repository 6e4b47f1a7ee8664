#include "sched/policy.h"

#include <algorithm>

#include "sched/fairshare.h"
#include "sched/placement.h"

namespace ogai::sched {

namespace {

struct Usage {
  std::map<std::string, int> used;  // ranks of active jobs per tenant
  int total_used = 0;
  int total_quota = 0;
  std::map<std::string, int> pending;  // ranks of a tenant's pending (not held) jobs not started yet
};

// Quota the other tenants' waiting jobs claim: what they could start within their own quota.
int ClaimedByOthers(const std::string& tenant, const std::map<std::string, Tenant>& tenants, const Usage& u) {
  int claimed = 0;
  for (const auto& [name, t] : tenants) {
    if (name == tenant) continue;
    const int used = u.used.count(name) ? u.used.at(name) : 0;
    const int want = u.pending.count(name) ? u.pending.at(name) : 0;
    claimed += std::max(0, std::min(want, t.quota - used));
  }
  return claimed;
}

// Whether `j` may run as far as quotas go.
bool QuotaAllows(const Job& j, const std::map<std::string, Tenant>& tenants, const Usage& u) {
  auto it = tenants.find(j.tenant);
  if (it == tenants.end()) return false;
  const Tenant& t = it->second;
  const int used = u.used.count(j.tenant) ? u.used.at(j.tenant) : 0;
  if (used + j.ranks <= t.quota) return true;
  const int borrowed = used + j.ranks - t.quota;
  // Borrowing uses quota nobody uses or waits for.
  return borrowed <= t.borrow_limit && u.total_used + j.ranks + ClaimedByOthers(j.tenant, tenants, u) <= u.total_quota;
}

bool WithinNominal(const Job& j, const std::map<std::string, Tenant>& tenants, const Usage& u) {
  auto it = tenants.find(j.tenant);
  const int used = u.used.count(j.tenant) ? u.used.at(j.tenant) : 0;
  return it != tenants.end() && used + j.ranks <= it->second.quota;
}

// Victims for `head`: nullopt-like empty result when none make it fit.
std::vector<const Job*> ChooseVictims(const Job& head, const std::vector<const Job*>& running, FreeSlots free,
                                      const std::map<std::string, Tenant>& tenants, const Usage& u, double now) {
  const bool reclaim = WithinNominal(head, tenants, u);
  std::vector<const Job*> cand;
  for (const Job* r : running) {
    if (r->state != JobState::kRunning) continue;
    const bool young = now - r->start_unix < r->min_runtime_s;
    if (r->backfilled) {
      cand.push_back(r);
      continue;
    }
    if (young) continue;
    const Tenant* rt = tenants.count(r->tenant) ? &tenants.at(r->tenant) : nullptr;
    const bool borrower =
        rt != nullptr && r->tenant != head.tenant && u.used.count(r->tenant) && u.used.at(r->tenant) > rt->quota;
    if (r->priority < head.priority || (reclaim && borrower)) cand.push_back(r);
  }
  std::stable_sort(cand.begin(), cand.end(), [](const Job* a, const Job* b) {
    if (a->lost_work != b->lost_work) return a->lost_work < b->lost_work;
    return a->id > b->id;  // the younger job first
  });
  std::map<std::string, int> over;  // how far each tenant is above its quota
  for (const auto& [name, t] : tenants) over[name] = (u.used.count(name) ? u.used.at(name) : 0) - t.quota;
  std::vector<const Job*> chosen;
  for (const Job* v : cand) {
    const bool by_priority = v->priority < head.priority || v->backfilled;
    if (!by_priority) {
      // Reclaim only the borrowed part: never push a tenant below its quota.
      if (over[v->tenant] < v->ranks) continue;
      over[v->tenant] -= v->ranks;
    }
    chosen.push_back(v);
    free.Give(v->hosts);
    if (PlaceGang(free, head.ranks)) return chosen;
  }
  return {};
}

}  // namespace

PolicyOutput SchedulePass(const PolicyInput& in) {
  PolicyOutput out;
  std::vector<const Job*> active, pending;
  for (const Job& j : in.jobs) {
    if (IsActive(j.state)) active.push_back(&j);
    if (j.state == JobState::kPending) pending.push_back(&j);
  }
  FreeSlots free = ComputeFree(in.nodes, active);
  Usage u;
  for (const auto& [name, t] : in.tenants) u.total_quota += t.quota;
  for (const Job* j : active) {
    u.used[j->tenant] += j->ranks;
    u.total_used += j->ranks;
  }
  for (const Job* j : pending)
    if (!j->held) u.pending[j->tenant] += j->ranks;
  // Queue order: priority, then the tenant's fair-share factor, then submission.
  std::map<std::string, double> share;
  for (const auto& [name, t] : in.tenants) share[name] = ShareFactor(t);
  std::vector<std::pair<double, const Job*>> keyed;
  keyed.reserve(pending.size());
  for (const Job* j : pending) {
    auto it = share.find(j->tenant);
    keyed.push_back({it == share.end() ? 1e300 : it->second, j});
  }
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    if (a.second->priority != b.second->priority) return a.second->priority > b.second->priority;
    if (a.first != b.first) return a.first < b.first;
    return a.second->id < b.second->id;
  });
  for (size_t i = 0; i < keyed.size(); ++i) pending[i] = keyed[i].second;

  // Slots already being freed by jobs asked to stop (a previous pass chose them).
  FreeSlots after_preempting = free;
  bool preempting = false;
  for (const Job* j : active) {
    if (j->state == JobState::kPreempting) {
      after_preempting.Give(j->hosts);
      preempting = true;
    }
  }

  const Job* head = nullptr;
  bool head_reserves = false;  // the head is waiting for victims: the free slots are its own
  for (const Job* j : pending) {
    if (j->held) {
      out.reasons[j->id] = "Held";
      continue;
    }
    if (!QuotaAllows(*j, in.tenants, u)) {
      out.reasons[j->id] = "Quota";
      continue;
    }
    if (head == nullptr) {
      if (auto p = PlaceGang(free, j->ranks)) {
        out.start.push_back({j->id, *p, false});
        free.Take(*p);
        after_preempting.Take(*p);
        u.used[j->tenant] += j->ranks;
        u.pending[j->tenant] -= j->ranks;
        u.total_used += j->ranks;
        continue;
      }
      head = j;
      out.reasons[j->id] = "Resources";
      if (preempting && PlaceGang(after_preempting, j->ranks)) {
        head_reserves = true;  // the stops already asked for are enough
        continue;
      }
      auto victims = ChooseVictims(*j, active, after_preempting, in.tenants, u, in.now_unix);
      for (const Job* v : victims) out.preempt.push_back(v->id);
      head_reserves = !victims.empty();
      continue;
    }
    if (head_reserves) {
      out.reasons[j->id] = "Priority";
      continue;
    }
    if (auto p = PlaceGang(free, j->ranks)) {  // backfill
      out.start.push_back({j->id, *p, true});
      free.Take(*p);
      u.used[j->tenant] += j->ranks;
      u.pending[j->tenant] -= j->ranks;
      u.total_used += j->ranks;
      continue;
    }
    out.reasons[j->id] = "Priority";
  }
  return out;
}

std::string NeverFits(const Job& job, const Tenant& tenant, const std::vector<Node>& nodes) {
  int slots = 0;
  for (const Node& n : nodes) slots += n.slots;
  if (job.ranks > tenant.quota + tenant.borrow_limit) {
    return "the job needs " + std::to_string(job.ranks) + " ranks but tenant '" + tenant.name + "' may use at most " +
           std::to_string(tenant.quota + tenant.borrow_limit) + " (quota " + std::to_string(tenant.quota) +
           " + borrow limit " + std::to_string(tenant.borrow_limit) + "); ask for fewer ranks (-np) or a larger quota";
  }
  if (job.ranks > slots) {
    return "the job needs " + std::to_string(job.ranks) + " ranks but the pool has " + std::to_string(slots) +
           " slots in all; ask for fewer ranks (-np)";
  }
  return "";
}

}  // namespace ogai::sched
