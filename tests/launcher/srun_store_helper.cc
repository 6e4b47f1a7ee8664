// srun_store_helper: a rank that joins its job exactly as ogai-worker does
// (train::SetUpDistributed: the store, hosted by rank 0 or found through the launcher, then
// the world group), proves the group works with one store round trip per rank, holds the
// store for SECONDS (so that two jobs run at the same time in a test), and prints
//   "joined rank R/N store HOST:PORT sum S"
// where S is the sum of every rank's number, read back from the store.
//
//   srun --mpi=pmix --ntasks=2 srun_store_helper [SECONDS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "rank/rank_env.h"
#include "train/config.h"
#include "train/dist_setup.h"

int main(int argc, char** argv) {
  const double hold = argc > 1 ? std::atof(argv[1]) : 0.0;
  auto env = ogai::launch::DetectRankEnv();
  if (!env.ok()) {
    std::fprintf(stderr, "%s\n", env.status().ToString().c_str());
    return 3;
  }
  ogai::Config cfg;
  cfg.parallel.dp = env->world_size;
  cfg.parallel.timeout_s = 60;
  auto d = ogai::train::SetUpDistributed(cfg, *env);
  if (!d.ok()) {
    std::fprintf(stderr, "%s\n", d.status().ToString().c_str());
    return 4;
  }
  auto& store = (*d)->store;
  if (!store) {
    std::fprintf(stderr, "rank %d: no store\n", env->rank);
    return 5;
  }
  // The sum first, then the count: a rank that sees every count sees every number.
  auto sum = store->Add("sum", env->rank);
  if (!sum.ok()) return 6;
  auto n = store->Add("ranks", 1);
  if (!n.ok()) return 6;
  // Wait until every rank has added (the store's counter), then read the total.
  for (int i = 0; i < 600; ++i) {
    auto c = store->Add("ranks", 0);
    if (!c.ok()) return 6;
    if (*c == env->world_size) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto total = store->Add("sum", 0);
  if (!total.ok()) return 6;
  std::printf("joined rank %d/%d store %s sum %lld\n", env->rank, env->world_size, (*d)->store_address.c_str(),
              static_cast<long long>(*total));
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::duration<double>(hold));
  // Rank 0 hosts the store: it leaves last.
  (void)store->Add("done", 1);
  if (env->rank == 0) {
    for (int i = 0; i < 600; ++i) {
      auto c = store->Add("done", 0);
      if (!c.ok() || *c == env->world_size) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return 0;
}
