#include "train/dist_setup.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/digest.h"
#include "core/log.h"
#include "rank/pmix_client.h"

namespace ogai::train {
namespace {

constexpr char kSrunStoreKey[] = "ogai.store";

// Under srun without MASTER_PORT: rank 0 starts the store on a port the kernel picks (on
// MASTER_ADDR, the step's first node) with the job's token (a random one when
// OGAI_STORE_TOKEN is not set), and publishes "PORT TOKEN" through PMIx; every rank then
// reads it. Fills in e.master_port and e.store_token.
Status PublishSrunStore(launch::RankEnv& e, std::chrono::milliseconds timeout, DistRuntime* d) {
  const std::string how =
      "under srun without MASTER_PORT, rank 0 publishes its store's port through PMIx: start the "
      "step with `srun --mpi=pmix`, or set MASTER_PORT (and OGAI_STORE_TOKEN) for every rank";
  if (!launch::PmixClientAvailable()) {
    return InvalidArgument("rank " + std::to_string(e.rank) + ": no PMIx server in this srun step; " + how);
  }
  auto peers = launch::PmixPeers::Connect();
  if (!peers.ok()) return peers.status().WithContext(how);
  d->pmix = std::move(peers).value();
  if (e.rank == 0) {
    if (e.store_token.empty()) e.store_token = RandomHex(16);
    auto server = store::StoreServer::Start(e.master_addr, 0, e.store_token);
    if (!server.ok()) {
      // Tell the others (they would otherwise wait in the fence until the timeout), then fail.
      const Status st = server.status().WithContext("rank 0 starting the store on " + e.master_addr);
      (void)d->pmix->Publish(kSrunStoreKey, "error " + st.ToString());
      (void)d->pmix->Fence(timeout);
      return st;
    }
    d->server = std::move(server).value();
    e.master_port = d->server->port();
    OGAI_RETURN_IF_ERROR(d->pmix->Publish(kSrunStoreKey, std::to_string(e.master_port) + " " + e.store_token));
  }
  OGAI_RETURN_IF_ERROR(d->pmix->Fence(timeout));
  if (e.rank != 0) {
    OGAI_ASSIGN_OR_RETURN(std::string v, d->pmix->Lookup(0, kSrunStoreKey));
    if (v.rfind("error ", 0) == 0) return Unavailable("no store for this srun step: " + v.substr(6));
    const size_t sp = v.find(' ');
    const int port = sp == std::string::npos ? 0 : std::atoi(v.substr(0, sp).c_str());
    if (port <= 0 || port > 65535 || sp + 1 >= v.size()) {
      return Corruption("rank 0 published a store address this rank cannot read (" + std::to_string(v.size()) +
                        " bytes, not \"PORT TOKEN\")");
    }
    e.master_port = port;
    e.store_token = v.substr(sp + 1);
  }
  OGAI_LOG(Info) << "store of this srun step: " << e.master_addr << ":" << e.master_port << " (port from PMIx)";
  return Status::Ok();
}

}  // namespace

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
    if (env.launcher_hosts_store && !env.master_addr.empty() && env.master_port > 0) {
      // One rank under ogai-run: no group to form, but a scheduler may still ask for a checkpoint.
      OGAI_ASSIGN_OR_RETURN(auto base, store::ConnectTcpStore(env.master_addr, env.master_port, env.store_token,
                                                              std::chrono::milliseconds(10000)));
      d->ctx.control_store = std::shared_ptr<store::Store>(std::move(base));
    }
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
  launch::RankEnv e = env;
  if (e.source == launch::RankSource::kSrun && e.master_port == 0 && !e.master_addr.empty()) {
    OGAI_RETURN_IF_ERROR(PublishSrunStore(e, timeout, d.get()));
    d->ctx.store_token = e.store_token;
    phase("pmix");
  }
  if (!e.master_addr.empty() && e.master_port > 0) {
    if (!e.launcher_hosts_store && e.rank == 0 && d->server == nullptr) {
      // Listen on the address the ranks are told (MASTER_ADDR), never 0.0.0.0.
      OGAI_ASSIGN_OR_RETURN(d->server, store::StoreServer::Start(e.master_addr, e.master_port, e.store_token));
    }
    OGAI_ASSIGN_OR_RETURN(auto base, store::ConnectTcpStore(e.master_addr, e.master_port, e.store_token, timeout));
    d->ctx.control_store = std::shared_ptr<store::Store>(std::move(base));
    d->store = store::MakePrefixStore(d->ctx.control_store, e.StorePrefix());
    d->store_address = e.master_addr + ":" + std::to_string(e.master_port);
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
