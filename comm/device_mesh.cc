#include "comm/device_mesh.h"

#include <cstring>

#include "comm/self_group.h"

namespace ogai::comm {

MeshCoord DeviceMesh::CoordOf(int rank, int tp, int dp, int pp) {
  (void)pp;
  MeshCoord c;
  c.tp = rank % tp;
  c.dp = (rank / tp) % dp;
  c.pp = rank / (tp * dp);
  return c;
}

int DeviceMesh::RankOf(MeshCoord c, int tp, int dp, int pp) {
  (void)pp;
  return c.pp * (dp * tp) + c.dp * tp + c.tp;
}

std::vector<int> DeviceMesh::TpRanks(int rank, int tp, int dp, int pp) {
  MeshCoord c = CoordOf(rank, tp, dp, pp);
  std::vector<int> v;
  for (int i = 0; i < tp; ++i) v.push_back(RankOf({i, c.dp, c.pp}, tp, dp, pp));
  return v;
}

std::vector<int> DeviceMesh::DpRanks(int rank, int tp, int dp, int pp) {
  MeshCoord c = CoordOf(rank, tp, dp, pp);
  std::vector<int> v;
  for (int i = 0; i < dp; ++i) v.push_back(RankOf({c.tp, i, c.pp}, tp, dp, pp));
  return v;
}

std::vector<int> DeviceMesh::PpRanks(int rank, int tp, int dp, int pp) {
  MeshCoord c = CoordOf(rank, tp, dp, pp);
  std::vector<int> v;
  for (int i = 0; i < pp; ++i) v.push_back(RankOf({c.tp, c.dp, i}, tp, dp, pp));
  return v;
}

Result<std::unique_ptr<DeviceMesh>> DeviceMesh::Create(ProcessGroup* world, int tp, int dp, int pp) {
  if (tp <= 0 || dp <= 0 || pp <= 0 || tp * dp * pp != world->size()) {
    return InvalidArgument("device mesh tp=" + std::to_string(tp) + " dp=" + std::to_string(dp) +
                           " pp=" + std::to_string(pp) + " does not multiply to the world size " +
                           std::to_string(world->size()));
  }
  std::unique_ptr<DeviceMesh> m(new DeviceMesh());
  const int r = world->rank();
  m->coord_ = CoordOf(r, tp, dp, pp);
  m->tp_size_ = tp;
  m->dp_size_ = dp;
  m->pp_size_ = pp;
  const MeshCoord c = m->coord_;
  // Group indices: tp groups by (pp, dp), dp groups by (pp, tp), pp groups by (dp, tp).
  const int tp_idx = c.pp * dp + c.dp, dp_idx = c.pp * tp + c.tp, pp_idx = c.dp * tp + c.tp;
  // A group of one rank needs no transport (host-memory backends; NCCL's buffers live on
  // the device, so it keeps real groups).
  const bool host = std::strcmp(world->backend(), "nccl") != 0;
  auto group = [&](const std::vector<int>& ranks, const std::string& name) -> Result<std::unique_ptr<ProcessGroup>> {
    if (host && ranks.size() == 1) {
      ProcessGroupOptions o = world->options();
      o.name = name;
      return MakeSelfGroup(o);
    }
    return world->NewGroup(ranks, name);
  };
  OGAI_ASSIGN_OR_RETURN(m->tp_, group(TpRanks(r, tp, dp, pp), "tp" + std::to_string(tp_idx)));
  OGAI_ASSIGN_OR_RETURN(m->dp_, group(DpRanks(r, tp, dp, pp), "dp" + std::to_string(dp_idx)));
  OGAI_ASSIGN_OR_RETURN(m->pp_, group(PpRanks(r, tp, dp, pp), "pp" + std::to_string(pp_idx)));
  return m;
}

}  // namespace ogai::comm
