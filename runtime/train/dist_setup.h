// Everything a rank needs before training with others: the job's store (connected, or
// hosted by rank 0 when the launcher does not host one), the world process group, the
// device mesh and the tied-embedding group. Shared by ogai-worker and ogai-bench.
#pragma once

#include <memory>

#include "launcher/rank_env.h"
#include "runtime/comm/device_mesh.h"
#include "runtime/comm/process_group.h"
#include "runtime/core/config.h"
#include "runtime/store/server.h"
#include "runtime/store/store.h"
#include "runtime/train/trainer.h"

namespace ogai::train {

struct DistRuntime {
  std::unique_ptr<store::StoreServer> server;
  std::shared_ptr<store::Store> store;
  std::unique_ptr<comm::ProcessGroup> world;
  std::unique_ptr<comm::DeviceMesh> mesh;
  std::unique_ptr<comm::ProcessGroup> embed;
  DistContext ctx;  // points into the members above
};

// Single rank (world_size 1): only the layout is filled in. Otherwise connects everything;
// errors say which piece failed and how to fix it.
Result<std::unique_ptr<DistRuntime>> SetUpDistributed(const Config& cfg, const launch::RankEnv& env);

// Gives each co-located rank its share of the node's cores for OpenMP, unless
// OMP_NUM_THREADS is set (as torchrun does), so ranks do not spin against each other.
void ShareCoresAmongLocalRanks(const launch::RankEnv& env);

}  // namespace ogai::train
