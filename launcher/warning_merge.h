// Identical warnings from several ranks, printed once naming the ranks.
//
// Every rank of a job often warns about the same thing (a config choice, a missing cache):
//   [ogai-worker rank 0] W: checkpoint.peer_copies is 1 but no shard cache is running ...
//   [ogai-worker rank 1] W: checkpoint.peer_copies is 1 but no shard cache is running ...
// ogai-run holds such a line (core/log.h's form, "[NAME rank N] W: text") for a short
// window; the same text from other ranks within it joins it, and one line is printed:
//   [ogai-worker ranks 0-1] W: checkpoint.peer_copies is 1 but no shard cache is running ...
// A warning only one rank gave is printed as it came. Lines in other forms (tagged or
// timestamped output, errors, step lines) are never held.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ogai::launch {

class WarningMerger {
 public:
  explicit WarningMerger(double window_s = 1.5) : window_s_(window_s) {}
  // Takes `line` (with or without its '\n') when it is a rank's warning; false: print it now.
  bool Add(std::string_view line, double now);
  // The merged lines (each ending in '\n') whose window has passed, or all of them.
  std::vector<std::string> Due(double now, bool all);
  bool empty() const { return held_.empty(); }

 private:
  struct Held {
    std::string name, text;
    std::vector<int> ranks;
    double first = 0;
  };
  double window_s_;
  std::vector<Held> held_;  // in order of first arrival
};

// "0-3,5,7-8": sorted ranks, runs shortened.
std::string RankList(std::vector<int> ranks);

}  // namespace ogai::launch
