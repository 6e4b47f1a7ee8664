#include "sched/placement.h"

#include <algorithm>

namespace ogai::sched {

int FreeSlots::Total() const {
  int t = 0;
  for (const auto& [n, f] : free) t += f;
  return t;
}

void FreeSlots::Take(const std::vector<Placement>& p) {
  for (const auto& x : p) free[x.node] -= x.slots;
}

void FreeSlots::Give(const std::vector<Placement>& p) {
  for (const auto& x : p) {
    auto it = free.find(x.node);
    if (it != free.end()) it->second += x.slots;  // a node no longer in the pool gives nothing
  }
}

FreeSlots ComputeFree(const std::vector<Node>& nodes, const std::vector<const Job*>& active) {
  FreeSlots f;
  for (const Node& n : nodes) {
    f.order.push_back(n.name);
    f.free[n.name] = n.up ? n.slots : 0;
  }
  for (const Job* j : active) {
    for (const auto& p : j->hosts) {
      auto it = f.free.find(p.node);
      if (it != f.free.end()) it->second = std::max(0, it->second - p.slots);
    }
  }
  return f;
}

std::optional<std::vector<Placement>> PlaceGang(const FreeSlots& free, int ranks) {
  if (ranks <= 0) return std::nullopt;
  // One node, tightest fit.
  const std::string* best = nullptr;
  int best_free = 0;
  for (const auto& name : free.order) {
    const int f = free.free.at(name);
    if (f >= ranks && (best == nullptr || f < best_free)) {
      best = &name;
      best_free = f;
    }
  }
  if (best != nullptr) return std::vector<Placement>{{*best, ranks}};
  // Several nodes, largest free first (stable: pool order breaks ties).
  std::vector<std::pair<int, size_t>> by_free;
  for (size_t i = 0; i < free.order.size(); ++i) {
    const int f = free.free.at(free.order[i]);
    if (f > 0) by_free.push_back({f, i});
  }
  std::stable_sort(by_free.begin(), by_free.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<Placement> out;
  int left = ranks;
  for (const auto& [f, i] : by_free) {
    const int take = std::min(f, left);
    out.push_back({free.order[i], take});
    left -= take;
    if (left == 0) return out;
  }
  return std::nullopt;
}

}  // namespace ogai::sched
