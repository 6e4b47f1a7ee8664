#include "train/dist_setup.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/log.h"

namespace ogai::train {

void ShareCoresAmongLocalRanks(const launch::RankEnv& env) {
  if (std::getenv("OMP_NUM_THREADS") != nullptr || env.local_world_size <= 1) return;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  omp_set_num_threads(std::max(1, cores / env.local_world_size));
}

Result<bool> AdaptToWorldSize(Config& cfg, const launch::RankEnv& env) {
  auto& p = cfg.parallel;
  auto& t = cfg.train;
  const int world = env.world_size;
  if (!env.elastic || p.dp * p.tp * p.pp == world) return false;
  const int mp = p.tp * p.pp;
  const std::string at = "elastic restart on " + std::to_string(world) + " ranks (the config's layout is dp " +
                         std::to_string(p.dp) + " x tp " + std::to_string(p.tp) + " x pp " + std::to_string(p.pp) +
                         "): ";
  if (world % mp != 0) {
    return InvalidArgument(at + "parallel.tp x parallel.pp = " + std::to_string(mp) + " does not divide " +
                           std::to_string(world) +
                           " ranks, so no data-parallel size fits; give every node a "
                           "multiple of tp*pp ranks (--nproc-per-node) so that any number of nodes fits");
  }
  const int dp = world / mp;
  const int per_step = t.micro_batch * dp;
  if (t.global_batch % per_step != 0) {
    return InvalidArgument(at + "the global batch of " + std::to_string(t.global_batch) +
                           " sequences is not a multiple of train.micro_batch x dp = " + std::to_string(t.micro_batch) +
                           " x " + std::to_string(dp) +
                           "; choose train.global_batch (or micro_batch) so that every "
                           "dp the job may shrink to divides it");
  }
  OGAI_LOG(Info) << at << "continuing at dp " << dp << " with " << t.global_batch / per_step
                 << " micro-batches per step (was " << t.grad_accum << "), global batch " << t.global_batch;
  p.dp = dp;
  t.grad_accum = t.global_batch / per_step;
  return true;
}

Result<std::unique_ptr<DistRuntime>> SetUpDistributed(const Config& cfg, const launch::RankEnv& env) {
  auto d = std::make_unique<DistRuntime>();
  d->ctx.restart_count = env.restart_count;
  d->ctx.node_rank = env.node_rank < 0 ? 0 : env.node_rank;
  d->ctx.shard_caches = env.shard_caches;
  d->ctx.shard_dir = env.shard_dir;
  d->ctx.store_token = env.store_token;
  if (env.world_size <= 1) {
    OGAI_ASSIGN_OR_RETURN(d->ctx.layout, parallel::MakeLayout(cfg.parallel, cfg.model, 0, 1));
    return d;
  }
  using namespace std::chrono;
  const auto timeout = milliseconds(static_cast<int64_t>(cfg.parallel.timeout_s * 1000));
  auto mark = steady_clock::now();
  auto phase = [&](const char* name) {
    const auto now = steady_clock::now();
    d->ctx.startup_ms.push_back({name, duration<double, std::milli>(now - mark).count()});
    mark = now;
  };
  if (!env.master_addr.empty() && env.master_port > 0) {
    if (!env.launcher_hosts_store && env.rank == 0) {
      // Listen on the address the ranks are told (MASTER_ADDR), never 0.0.0.0.
      OGAI_ASSIGN_OR_RETURN(d->server, store::StoreServer::Start(env.master_addr, env.master_port, env.store_token));
    }
    OGAI_ASSIGN_OR_RETURN(auto base,
                          store::ConnectTcpStore(env.master_addr, env.master_port, env.store_token, timeout));
    d->store = store::MakePrefixStore(std::shared_ptr<store::Store>(std::move(base)), env.StorePrefix());
    phase("store");
  } else if (!env.mpi_launcher) {
    return InvalidArgument("rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                           " has no store address: set MASTER_ADDR and MASTER_PORT, or start the job with "
                           "ogai-run, mpirun or srun --mpi=pmix");
  }
  comm::ProcessGroupOptions opts;
  opts.timeout = timeout;
  // d->store is already scoped to this restart round (r<N>/, above), so comm adds nothing.
  opts.store_prefix = "";
  opts.mpi_launcher = env.mpi_launcher;
  opts.local_world_size = env.local_world_size;
  opts.local_rank = env.local_rank;
  OGAI_ASSIGN_OR_RETURN(d->world,
                        comm::CreateProcessGroup(cfg.parallel.backend, d->store, env.rank, env.world_size, opts));
  phase("world_group");
  OGAI_ASSIGN_OR_RETURN(d->ctx.layout, parallel::MakeLayout(cfg.parallel, cfg.model, env.rank, env.world_size));
  const auto& L = d->ctx.layout;
  OGAI_ASSIGN_OR_RETURN(d->mesh, comm::DeviceMesh::Create(d->world.get(), L.tp, L.dp, L.pp));
  if (L.pp > 1 && (L.first_stage() || L.last_stage())) {
    const int first = comm::DeviceMesh::RankOf({L.tp_idx, L.dp_idx, 0}, L.tp, L.dp, L.pp);
    const int last = comm::DeviceMesh::RankOf({L.tp_idx, L.dp_idx, L.pp - 1}, L.tp, L.dp, L.pp);
    OGAI_ASSIGN_OR_RETURN(d->embed, d->world->NewGroup({first, last}, "embed" + std::to_string(L.dp_idx) + "_" +
                                                                          std::to_string(L.tp_idx)));
  }
  phase("subgroups");
  d->ctx.world = d->world.get();
  d->ctx.mesh = d->mesh.get();
  d->ctx.embed = d->embed.get();
  d->ctx.store = d->store;
  OGAI_LOG(Info) << "joined " << env.Describe() << " over " << d->world->backend();
  return d;
}

}  // namespace ogai::train
