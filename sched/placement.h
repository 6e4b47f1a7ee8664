// Gang placement: all of a job's ranks on the free slots of the pool, or nothing. No I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sched/types.h"

namespace ogai::sched {

// Free slots per node name, in the pool's order (down nodes have none).
struct FreeSlots {
  std::vector<std::string> order;
  std::map<std::string, int> free;
  int Total() const;
  void Take(const std::vector<Placement>& p);
  void Give(const std::vector<Placement>& p);
};

// The pool's free slots: each up node's slots minus what the active jobs use there.
FreeSlots ComputeFree(const std::vector<Node>& nodes, const std::vector<const Job*>& active);

// Places `ranks` ranks: on the one node that fits them most tightly when one can, else on
// the nodes with the most free slots first (fewest nodes). nullopt when they do not fit.
std::optional<std::vector<Placement>> PlaceGang(const FreeSlots& free, int ranks);

}  // namespace ogai::sched
