// The launch plan: which ranks run on which node. Pure computation, checked before anything
// starts.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "launcher/hostfile.h"

namespace ogai::launch {

struct PlanInput {
  std::vector<HostEntry> hosts;      // in order; empty: this machine only
  bool hosts_given = false;          // from -H / --hostfile / Slurm (slots are binding)
  std::string hosts_source;          // "--host", "hostfile hosts.txt", "Slurm allocation" (messages)
  int np = 0;                        // 0: all slots (1 on an implicit local host)
  int nproc_per_node = 0;            // 0: from slots
  int min_nodes = 0, max_nodes = 0;  // --nnodes (0: every host)
  std::string map_by = "slot";       // slot | core (same placement) | node (round-robin)
  bool oversubscribe = false;
};

struct NodePlan {
  int node_rank = 0;
  int agent = 0;  // the agent that runs it: its node rank in the first plan
  std::string host;
  bool local = false;      // this machine: the launcher itself is the agent
  int slots = 0;           // 0: unlimited (implicit local host)
  std::vector<int> ranks;  // global ranks, in local-rank order
};

struct JobPlan {
  int world_size = 0;
  int min_nodes = 0;            // elastic lower bound (== nodes.size() unless --nnodes MIN:MAX)
  std::vector<NodePlan> nodes;  // only nodes with at least one rank
  // "4 ranks on 2 nodes: node0 127.0.0.2 [0-1], node1 127.0.0.3 [2-3]"
  std::string Describe() const;
};

// Places ranks. Errors (more ranks than slots without --oversubscribe, --nnodes larger than
// the host list, -np that contradicts --nproc-per-node) say what and how to fix it.
Result<JobPlan> MakeJobPlan(const PlanInput& in);

// Rebuilds a plan over the surviving nodes (elastic restart): same ranks per node,
// renumbered from 0.
JobPlan ShrinkPlan(const JobPlan& plan, const std::vector<int>& lost_node_ranks);

}  // namespace ogai::launch
