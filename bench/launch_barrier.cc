// ogai-bench-barrier: the rank program `ogai-bench launch` starts under each launcher.
//
//   ogai-bench-barrier mpi     MPI_Init, MPI_Barrier, print "barrier <rank> <ns>", MPI_Finalize
//   ogai-bench-barrier store   connect to the job's store (ogai-run's rank contract), meet
//                              every rank there, print "barrier <rank> <ns>"
//
// <ns> is CLOCK_REALTIME just after the barrier, comparable with the benchmark's start time
// on the same machine.
#include <mpi.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "rank/rank_env.h"
#include "store/store.h"

namespace {

long long RealtimeNs() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

int StoreBarrier() {
  auto env = ogai::launch::DetectRankEnv();
  if (!env.ok() || !env->launcher_hosts_store) {
    std::fprintf(stderr, "store barrier needs ogai-run's rank contract: %s\n",
                 env.ok() ? "no OGAI_RUN_ID" : env.status().ToString().c_str());
    return 2;
  }
  auto store =
      ogai::store::ConnectTcpStore(env->master_addr, env->master_port, env->store_token, std::chrono::seconds(60));
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  std::string p = env->StorePrefix() + "bench/";
  auto n = (*store)->Add(p + "arrived", 1);
  if (!n.ok()) return 1;
  if (*n == env->world_size && !(*store)->Set(p + "go", "1").ok()) return 1;
  if (!(*store)->Wait({p + "go"}, std::chrono::seconds(120)).ok()) return 1;
  std::printf("barrier %d %lld\n", env->rank, RealtimeNs());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "store") == 0) return StoreBarrier();
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Barrier(MPI_COMM_WORLD);
  std::printf("barrier %d %lld\n", rank, RealtimeNs());
  std::fflush(stdout);
  MPI_Finalize();
  return 0;
}
