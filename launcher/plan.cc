#include "launcher/plan.h"

#include <algorithm>

namespace ogai::launch {
namespace {

std::string RankRange(const std::vector<int>& r) {
  if (r.empty()) return "[]";
  bool contiguous = true;
  for (size_t i = 1; i < r.size(); ++i) contiguous = contiguous && r[i] == r[i - 1] + 1;
  if (contiguous) {
    return r.size() == 1 ? "[" + std::to_string(r[0]) + "]"
                         : "[" + std::to_string(r.front()) + "-" + std::to_string(r.back()) + "]";
  }
  std::string s = "[";
  for (size_t i = 0; i < r.size(); ++i) s += (i ? "," : "") + std::to_string(r[i]);
  return s + "]";
}

}  // namespace

std::string JobPlan::Describe() const {
  std::string s = std::to_string(world_size) + (world_size == 1 ? " rank" : " ranks") + " on " +
                  std::to_string(nodes.size()) + (nodes.size() == 1 ? " node" : " nodes") + ":";
  for (size_t i = 0; i < nodes.size(); ++i) {
    s += (i ? ", " : " ") + std::string("node") + std::to_string(nodes[i].node_rank) + " " + nodes[i].host +
         (nodes[i].local ? " (local)" : "") + " " + RankRange(nodes[i].ranks);
  }
  return s;
}

Result<JobPlan> MakeJobPlan(const PlanInput& in) {
  std::vector<HostEntry> hosts = in.hosts;
  bool implicit = hosts.empty();
  if (implicit) hosts.push_back({"localhost", 0, 0});
  int nhosts = static_cast<int>(hosts.size());
  if (in.max_nodes > 0) {
    if (in.min_nodes > nhosts) {
      return InvalidArgument("--nnodes asks for at least " + std::to_string(in.min_nodes) + " nodes but " +
                             (implicit ? std::string("no hosts were given (use -H or --hostfile)")
                                       : in.hosts_source + " has " + std::to_string(nhosts)));
    }
    if (in.max_nodes < nhosts) hosts.resize(static_cast<size_t>(in.max_nodes));
    nhosts = static_cast<int>(hosts.size());
  }

  JobPlan plan;
  plan.nodes.resize(static_cast<size_t>(nhosts));
  for (int i = 0; i < nhosts; ++i) {
    plan.nodes[i].host = hosts[i].name;
    plan.nodes[i].local = IsLocalHost(hosts[i].name);
    plan.nodes[i].slots = implicit ? 0 : hosts[i].slots;
  }

  // How many ranks each node gets.
  std::vector<int> count(static_cast<size_t>(nhosts), 0);
  long total_slots = 0;
  for (const HostEntry& h : hosts) total_slots += implicit ? 0 : h.slots;
  if (in.nproc_per_node > 0) {
    long full = static_cast<long>(in.nproc_per_node) * nhosts;
    int np = in.np > 0 ? in.np : static_cast<int>(full);
    if (np > full) {
      return InvalidArgument("-np " + std::to_string(np) + " is more than --nproc-per-node " +
                             std::to_string(in.nproc_per_node) + " x " + std::to_string(nhosts) +
                             " node(s) = " + std::to_string(full) + "; drop one of the two");
    }
    for (int r = 0, node = 0; r < np; ++r) {
      if (count[node] == in.nproc_per_node) ++node;
      ++count[node];
    }
    if (!implicit && !in.oversubscribe) {
      for (int i = 0; i < nhosts; ++i) {
        if (count[i] > hosts[i].slots) {
          return InvalidArgument("--nproc-per-node " + std::to_string(in.nproc_per_node) + " is more than the " +
                                 std::to_string(hosts[i].slots) + " slot(s) of host " + hosts[i].name + " in " +
                                 in.hosts_source + "; add --oversubscribe or give the host more slots");
        }
      }
    }
  } else if (implicit) {
    count[0] = in.np > 0 ? in.np : 1;
  } else {
    int np = in.np > 0 ? in.np : static_cast<int>(total_slots);
    if (np > total_slots && !in.oversubscribe) {
      return InvalidArgument("-np " + std::to_string(np) + " needs more slots than the " + std::to_string(total_slots) +
                             " in " + in.hosts_source + "; add --oversubscribe, lower -np, or add slots");
    }
    std::vector<int> cap(static_cast<size_t>(nhosts));
    for (int i = 0; i < nhosts; ++i) cap[i] = hosts[i].slots;
    int left = np;
    if (in.map_by == "node") {
      // Round-robin one rank per node while slots remain; oversubscribed: ignore the caps.
      bool over = np > total_slots;
      while (left > 0) {
        for (int i = 0; i < nhosts && left > 0; ++i) {
          if (over || count[i] < cap[i]) {
            ++count[i];
            --left;
          }
        }
      }
    } else {
      // By slot: fill each host's slots in order; oversubscribed ranks go round-robin.
      for (int i = 0; i < nhosts && left > 0; ++i) {
        int take = std::min(left, cap[i]);
        count[i] = take;
        left -= take;
      }
      for (int i = 0; left > 0; i = (i + 1) % nhosts) {
        ++count[i];
        --left;
      }
    }
  }

  // Assign global ranks.
  if (in.map_by == "node" && in.nproc_per_node == 0 && !implicit) {
    std::vector<int> placed(static_cast<size_t>(nhosts), 0);
    int r = 0;
    int world = 0;
    for (int c : count) world += c;
    while (r < world) {
      for (int i = 0; i < nhosts && r < world; ++i) {
        if (placed[i] < count[i]) {
          plan.nodes[i].ranks.push_back(r++);
          ++placed[i];
        }
      }
    }
  } else {
    int r = 0;
    for (int i = 0; i < nhosts; ++i)
      for (int k = 0; k < count[i]; ++k) plan.nodes[i].ranks.push_back(r++);
  }

  // Drop nodes without ranks and number the rest.
  std::vector<NodePlan> used;
  for (NodePlan& n : plan.nodes) {
    if (!n.ranks.empty()) used.push_back(std::move(n));
  }
  for (size_t i = 0; i < used.size(); ++i) used[i].node_rank = used[i].agent = static_cast<int>(i);
  plan.nodes = std::move(used);
  for (const NodePlan& n : plan.nodes) plan.world_size += static_cast<int>(n.ranks.size());
  plan.min_nodes = in.min_nodes > 0 ? std::min(in.min_nodes, static_cast<int>(plan.nodes.size()))
                                    : static_cast<int>(plan.nodes.size());
  if (plan.world_size == 0) return InvalidArgument("the plan has no ranks (-np 0?)");
  return plan;
}

JobPlan ShrinkPlan(const JobPlan& plan, const std::vector<int>& lost) {
  JobPlan out;
  out.min_nodes = plan.min_nodes;
  std::vector<int> kept;  // surviving old ranks, in order
  for (const NodePlan& n : plan.nodes) {
    if (std::find(lost.begin(), lost.end(), n.node_rank) != lost.end()) continue;
    kept.insert(kept.end(), n.ranks.begin(), n.ranks.end());
    out.nodes.push_back(n);
  }
  std::sort(kept.begin(), kept.end());
  for (size_t i = 0; i < out.nodes.size(); ++i) {
    out.nodes[i].node_rank = static_cast<int>(i);
    for (int& x : out.nodes[i].ranks) {
      x = static_cast<int>(std::lower_bound(kept.begin(), kept.end(), x) - kept.begin());
    }
  }
  out.world_size = static_cast<int>(kept.size());
  return out;
}

}  // namespace ogai::launch
