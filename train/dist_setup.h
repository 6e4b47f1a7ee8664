// Everything a rank needs before training with others: the job's store (connected, or
// hosted by rank 0 when the launcher does not host one), the world process group, the
// device mesh and the tied-embedding group. Shared by ogai-worker and ogai-bench.
#pragma once

#include <memory>

#include "comm/device_mesh.h"
#include "comm/process_group.h"
#include "rank/pmix_client.h"
#include "rank/rank_env.h"
#include "store/server.h"
#include "store/store.h"
#include "train/config.h"
#include "train/trainer.h"

namespace ogai::train {

struct DistRuntime {
  // Under srun without MASTER_PORT: the PMIx connection rank 0's store address came through
  // (first, so it is finalized last).
  std::unique_ptr<launch::PmixPeers> pmix;
  std::unique_ptr<store::StoreServer> server;
  std::shared_ptr<store::Store> store;
  std::unique_ptr<comm::ProcessGroup> world;
  std::unique_ptr<comm::DeviceMesh> mesh;
  std::unique_ptr<comm::ProcessGroup> embed;
  DistContext ctx;            // points into the members above
  std::string store_address;  // "HOST:PORT" of the job's store; "" when there is none
};

// An elastic job (env.elastic: ogai-run --nnodes MIN:MAX) restarted on another number of
// ranks: parallel.dp in the config is the full-size value, and train.global_batch (derived
// from it, or given) is kept. Sets parallel.dp = world / (tp * pp) and train.grad_accum so
// that micro_batch * grad_accum * dp is still the global batch. Returns whether anything
// changed (false when the world is the configured one, or the job is not elastic). Errors
// say what does not divide and what to change.
Result<bool> AdaptToWorldSize(Config& cfg, const launch::RankEnv& env);

// Single rank (world_size 1): only the layout is filled in. Otherwise connects everything;
// errors say which piece failed and how to fix it.
Result<std::unique_ptr<DistRuntime>> SetUpDistributed(const Config& cfg, const launch::RankEnv& env);

// Gives each co-located rank its share of the node's cores for OpenMP, unless
// OMP_NUM_THREADS is set (as torchrun does), so ranks do not spin against each other.
void ShareCoresAmongLocalRanks(const launch::RankEnv& env);

}  // namespace ogai::train
