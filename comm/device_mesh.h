// DeviceMesh: cuts the world into tensor-, data- and pipeline-parallel groups.
//
// Megatron's order: TP ranks are adjacent, PP is outermost:
//   rank = pp_idx * (dp * tp) + dp_idx * tp + tp_idx
// Each rank belongs to one TP group (the tp ranks sharing pp_idx, dp_idx), one DP group
// (sharing pp_idx, tp_idx) and one PP group (sharing dp_idx, tp_idx). Groups are named
// "tp<k>", "dp<k>", "pp<k>" with k the index of the group.
#pragma once

#include <memory>
#include <vector>

#include "comm/process_group.h"

namespace ogai::comm {

struct MeshCoord {
  int tp = 0, dp = 0, pp = 0;
};

class DeviceMesh {
 public:
  // Every rank of `world` calls this with the same sizes; tp*dp*pp must equal world size.
  static Result<std::unique_ptr<DeviceMesh>> Create(ProcessGroup* world, int tp, int dp, int pp);

  // Pure layout functions (no communication), for planning and tests.
  static MeshCoord CoordOf(int rank, int tp, int dp, int pp);
  static int RankOf(MeshCoord c, int tp, int dp, int pp);
  static std::vector<int> TpRanks(int rank, int tp, int dp, int pp);
  static std::vector<int> DpRanks(int rank, int tp, int dp, int pp);
  static std::vector<int> PpRanks(int rank, int tp, int dp, int pp);

  ProcessGroup& tp() { return *tp_; }
  ProcessGroup& dp() { return *dp_; }
  ProcessGroup& pp() { return *pp_; }
  MeshCoord coord() const { return coord_; }
  int tp_size() const { return tp_size_; }
  int dp_size() const { return dp_size_; }
  int pp_size() const { return pp_size_; }

 private:
  DeviceMesh() = default;
  std::unique_ptr<ProcessGroup> tp_, dp_, pp_;
  MeshCoord coord_;
  int tp_size_ = 1, dp_size_ = 1, pp_size_ = 1;
};

}  // namespace ogai::comm
