// Gang placement: all of a job's ranks on the free slots of the pool, or nothing. No I/O.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sched/types.h"

namespace ogai::sched {

// Free slots per node, in the pool's order (down nodes have none). Vectors indexed by the
// node's position, a name index for placements, and the running total (a pass asks "does it
// fit?" for every pending job: most answers come from the total alone).
struct FreeSlots {
  std::vector<std::string> order;
  std::vector<int> free;
  std::unordered_map<std::string, size_t> index;
  int total = 0;
  void Add(const std::string& name, int slots);
  int Total() const { return total; }
  int Of(const std::string& name) const;
  void Take(const std::vector<Placement>& p);
  void Give(const std::vector<Placement>& p);
};

// The pool's free slots: each up node's slots minus what the active jobs use there.
FreeSlots ComputeFree(const std::vector<Node>& nodes, const std::vector<const Job*>& active);

// Places `ranks` ranks: on the one node that fits them most tightly when one can, else on
// the nodes with the most free slots first (fewest nodes). nullopt when they do not fit.
std::optional<std::vector<Placement>> PlaceGang(const FreeSlots& free, int ranks);

}  // namespace ogai::sched
