#include "runtime/train/dist_setup.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "runtime/core/log.h"

namespace ogai::train {

void ShareCoresAmongLocalRanks(const launch::RankEnv& env) {
  if (std::getenv("OMP_NUM_THREADS") != nullptr || env.local_world_size <= 1) return;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  omp_set_num_threads(std::max(1, cores / env.local_world_size));
}

Result<std::unique_ptr<DistRuntime>> SetUpDistributed(const Config& cfg, const launch::RankEnv& env) {
  auto d = std::make_unique<DistRuntime>();
  if (env.world_size <= 1) {
    OGAI_ASSIGN_OR_RETURN(d->ctx.layout, parallel::MakeLayout(cfg, 0, 1));
    return d;
  }
  using namespace std::chrono;
  const auto timeout = milliseconds(static_cast<int64_t>(cfg.parallel.timeout_s * 1000));
  if (!env.master_addr.empty() && env.master_port > 0) {
    if (!env.launcher_hosts_store && env.rank == 0) {
      OGAI_ASSIGN_OR_RETURN(d->server, store::StoreServer::Start("0.0.0.0", env.master_port, env.store_token));
    }
    OGAI_ASSIGN_OR_RETURN(auto base, store::ConnectTcpStore(env.master_addr, env.master_port, env.store_token, timeout));
    d->store = store::MakePrefixStore(std::shared_ptr<store::Store>(std::move(base)), env.StorePrefix());
  } else if (!comm::StartedByMpiLauncher()) {
    return InvalidArgument("rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                           " has no store address: set MASTER_ADDR and MASTER_PORT, or start the job with "
                           "ogai-run, mpirun or srun --mpi=pmix");
  }
  comm::ProcessGroupOptions opts;
  opts.timeout = timeout;
  OGAI_ASSIGN_OR_RETURN(d->world, comm::CreateProcessGroup(cfg.parallel.backend, d->store, env.rank, env.world_size, opts));
  OGAI_ASSIGN_OR_RETURN(d->ctx.layout, parallel::MakeLayout(cfg, env.rank, env.world_size));
  const auto& L = d->ctx.layout;
  OGAI_ASSIGN_OR_RETURN(d->mesh, comm::DeviceMesh::Create(d->world.get(), L.tp, L.dp, L.pp));
  if (L.pp > 1 && (L.first_stage() || L.last_stage())) {
    const int first = parallel::ParallelLayout::RankOf(0, L.dp_idx, L.tp_idx, L.dp, L.tp);
    const int last = parallel::ParallelLayout::RankOf(L.pp - 1, L.dp_idx, L.tp_idx, L.dp, L.tp);
    OGAI_ASSIGN_OR_RETURN(d->embed, d->world->NewGroup({first, last}, "embed" + std::to_string(L.dp_idx) + "_" +
                                                                          std::to_string(L.tp_idx)));
  }
  d->ctx.world = d->world.get();
  d->ctx.mesh = d->mesh.get();
  d->ctx.embed = d->embed.get();
  d->ctx.store = d->store;
  OGAI_LOG(Info) << "joined " << env.Describe() << " over " << d->world->backend();
  return d;
}

}  // namespace ogai::train
