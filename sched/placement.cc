#include "sched/placement.h"

#include <algorithm>

namespace ogai::sched {

void FreeSlots::Add(const std::string& name, int slots) {
  index[name] = order.size();
  order.push_back(name);
  free.push_back(slots);
  total += slots;
}

int FreeSlots::Of(const std::string& name) const {
  auto it = index.find(name);
  return it == index.end() ? 0 : free[it->second];
}

void FreeSlots::Take(const std::vector<Placement>& p) {
  for (const auto& x : p) {
    auto it = index.find(x.node);
    if (it == index.end()) continue;
    free[it->second] -= x.slots;
    total -= x.slots;
  }
}

void FreeSlots::Give(const std::vector<Placement>& p) {
  for (const auto& x : p) {
    auto it = index.find(x.node);
    if (it == index.end()) continue;  // a node no longer in the pool gives nothing
    free[it->second] += x.slots;
    total += x.slots;
  }
}

FreeSlots ComputeFree(const std::vector<Node>& nodes, const std::vector<const Job*>& active) {
  FreeSlots f;
  for (const Node& n : nodes) f.Add(n.name, n.up ? n.slots : 0);
  for (const Job* j : active) {
    for (const auto& p : j->hosts) {
      auto it = f.index.find(p.node);
      if (it == f.index.end()) continue;
      const int take = std::min(f.free[it->second], p.slots);
      f.free[it->second] -= take;
      f.total -= take;
    }
  }
  return f;
}

std::optional<std::vector<Placement>> PlaceGang(const FreeSlots& free, int ranks) {
  if (ranks <= 0 || ranks > free.total) return std::nullopt;
  // One node, tightest fit.
  const std::string* best = nullptr;
  int best_free = 0;
  for (size_t i = 0; i < free.order.size(); ++i) {
    const int f = free.free[i];
    if (f >= ranks && (best == nullptr || f < best_free)) {
      best = &free.order[i];
      best_free = f;
    }
  }
  if (best != nullptr) return std::vector<Placement>{{*best, ranks}};
  // Several nodes, largest free first (stable: pool order breaks ties).
  std::vector<std::pair<int, size_t>> by_free;
  for (size_t i = 0; i < free.order.size(); ++i) {
    const int f = free.free[i];
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
