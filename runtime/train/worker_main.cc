// ogai-worker: the runtime of one rank. ogai-run starts one per rank; `mpirun` and `srun`
// can start it too (docs/launcher.md, "the rank contract").
// Usage: ogai-worker [-v|-vv] train.yaml [section.key=value ...]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "launcher/rank_env.h"
#include "runtime/comm/device_mesh.h"
#include "runtime/comm/process_group.h"
#include "runtime/core/config.h"
#include "runtime/core/log.h"
#include "runtime/parallel/layout.h"
#include "runtime/store/server.h"
#include "runtime/store/store.h"
#include "runtime/train/trainer.h"

namespace {

constexpr const char* kUsage =
    "usage: ogai-worker [-v|-vv] TRAIN.yaml [section.key=value ...]\n"
    "       ogai-worker --help-config    (every train.yaml key, its type and default)\n";

int Fail(const ogai::Status& st, int code) {
  ogai::LogLine(ogai::LogLevel::Error, st.ToString());
  OGAI_LOG(Debug) << "at " << st.where();
  return code;
}

// Everything a multi-rank job needs before training: the store, the world group, the mesh
// and the tied-embedding group.
struct Dist {
  std::unique_ptr<ogai::store::StoreServer> server;  // rank 0 under mpirun/srun with MASTER_ADDR
  std::shared_ptr<ogai::store::Store> store;
  std::unique_ptr<ogai::comm::ProcessGroup> world;
  std::unique_ptr<ogai::comm::DeviceMesh> mesh;
  std::unique_ptr<ogai::comm::ProcessGroup> embed;
};

ogai::Status SetUpDist(const ogai::Config& cfg, const ogai::launch::RankEnv& env, Dist& d,
                       ogai::train::DistContext& ctx) {
  using namespace std::chrono;
  const auto timeout = milliseconds(static_cast<int64_t>(cfg.parallel.timeout_s * 1000));
  if (!env.master_addr.empty() && env.master_port > 0) {
    if (!env.launcher_hosts_store && env.rank == 0) {
      OGAI_ASSIGN_OR_RETURN(d.server, ogai::store::StoreServer::Start("0.0.0.0", env.master_port, env.store_token));
    }
    OGAI_ASSIGN_OR_RETURN(auto base, ogai::store::ConnectTcpStore(env.master_addr, env.master_port, env.store_token, timeout));
    d.store = ogai::store::MakePrefixStore(std::shared_ptr<ogai::store::Store>(std::move(base)), env.StorePrefix());
  } else if (!ogai::comm::StartedByMpiLauncher()) {
    return ogai::InvalidArgument("rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                                 " has no store address: set MASTER_ADDR and MASTER_PORT, or start the job with "
                                 "ogai-run, mpirun or srun --mpi=pmix");
  }
  ogai::comm::ProcessGroupOptions opts;
  opts.timeout = timeout;
  OGAI_ASSIGN_OR_RETURN(d.world, ogai::comm::CreateProcessGroup(cfg.parallel.backend, d.store, env.rank,
                                                                env.world_size, opts));
  OGAI_ASSIGN_OR_RETURN(ctx.layout, ogai::parallel::MakeLayout(cfg, env.rank, env.world_size));
  const auto& L = ctx.layout;
  OGAI_ASSIGN_OR_RETURN(d.mesh, ogai::comm::DeviceMesh::Create(d.world.get(), L.tp, L.dp, L.pp));
  if (L.pp > 1 && (L.first_stage() || L.last_stage())) {
    const int first = ogai::parallel::ParallelLayout::RankOf(0, L.dp_idx, L.tp_idx, L.dp, L.tp);
    const int last = ogai::parallel::ParallelLayout::RankOf(L.pp - 1, L.dp_idx, L.tp_idx, L.dp, L.tp);
    OGAI_ASSIGN_OR_RETURN(d.embed, d.world->NewGroup({first, last}, "embed" + std::to_string(L.dp_idx) + "_" +
                                                                         std::to_string(L.tp_idx)));
  }
  ctx.world = d.world.get();
  ctx.mesh = d.mesh.get();
  ctx.embed = d.embed.get();
  return ogai::Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  ogai::SetLogProcessName("ogai-worker");
  std::string config_path;
  std::vector<std::string> overrides;
  int verbose = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      ogai::Print(kUsage);
      return 0;
    } else if (a == "--help-config") {
      ogai::Print(ogai::ConfigSchemaHelp());
      return 0;
    } else if (a == "-v" || a == "--verbose") {
      verbose = std::max(verbose, 1);
    } else if (a == "-vv") {
      verbose = 2;
    } else if (ogai::IsConfigOverride(a)) {
      overrides.push_back(a);
    } else if (!a.empty() && a[0] == '-') {
      ogai::LogLine(ogai::LogLevel::Error, "unknown option '" + a + "'\n" + kUsage);
      return 2;
    } else if (config_path.empty()) {
      config_path = a;
    } else {
      ogai::LogLine(ogai::LogLevel::Error,
                    "unexpected argument '" + a + "' (one config file; overrides look like train.steps=10)");
      return 2;
    }
  }
  if (verbose == 1) ogai::SetLogLevel(ogai::LogLevel::Info);
  if (verbose >= 2) ogai::SetLogLevel(ogai::LogLevel::Debug);
  if (!ogai::ApplyLogLevelFromEnv()) {
    ogai::LogLine(ogai::LogLevel::Error, "OGAI_LOG_LEVEL must be error, warn, info or debug");
    return 2;
  }
  if (config_path.empty()) {
    ogai::LogLine(ogai::LogLevel::Error, std::string("no config file given\n") + kUsage);
    return 2;
  }
  auto env = ogai::launch::DetectRankEnv();
  if (!env.ok()) return Fail(env.status(), 2);
  if (env->world_size > 1) ogai::SetLogRank(env->rank);
  auto cfg = ogai::LoadConfig(config_path, overrides);
  if (!cfg.ok()) return Fail(cfg.status(), 2);
  // Ranks sharing a node share its cores: without OMP_NUM_THREADS, each rank gets its share
  // (as torchrun does), so OpenMP teams of co-located ranks do not spin against each other.
  if (std::getenv("OMP_NUM_THREADS") == nullptr && env->local_world_size > 1) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    omp_set_num_threads(std::max(1, cores / env->local_world_size));
  }
  if (auto st = ogai::kernels::ApplyGemmBackendFromEnv(); !st.ok()) return Fail(st, 2);
  OGAI_LOG(Info) << env->Describe() << "; gemm " << ogai::kernels::GemmBackendDescription();

  Dist dist;
  ogai::train::DistContext ctx;
  if (env->world_size > 1) {
    if (auto st = SetUpDist(*cfg, *env, dist, ctx); !st.ok()) return Fail(st, 1);
  } else {
    auto layout = ogai::parallel::MakeLayout(*cfg, 0, 1);
    if (!layout.ok()) return Fail(layout.status(), 2);
    ctx.layout = *layout;
  }
  auto progress = ogai::launch::ProgressReporter::FromEnv();
  if (!progress.ok()) return Fail(progress.status(), 1);
  ogai::launch::ProgressReporter* reporter = progress->get();
  ctx.on_step = [reporter](int64_t step) { reporter->Report(step); };

  auto trainer = ogai::train::Trainer::Create(*cfg, ctx);
  if (!trainer.ok()) return Fail(trainer.status(), 1);
  ogai::train::RunSummary summary;
  if (auto st = (*trainer)->Run(&summary); !st.ok()) return Fail(st, 1);
  return 0;
}
