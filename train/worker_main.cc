// ogai-worker: the runtime of one rank. ogai-run starts one per rank; `mpirun` and `srun`
// can start it too (docs/launcher.md, "the rank contract").
// Usage: ogai-worker [-v|-vv] train.yaml [section.key=value ...]
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/knobs.h"
#include "core/log.h"
#include "core/main_guard.h"
#include "core/memory.h"
#include "kernels/cpu/gemm.h"
#include "rank/rank_env.h"
#include "train/config.h"
#include "train/dist_setup.h"
#include "train/memory_estimate.h"
#include "train/trainer.h"

namespace {

constexpr const char* kUsage =
    "usage: ogai-worker [-v|-vv] TRAIN.yaml [section.key=value ...]\n"
    "       ogai-worker --help-config    (every train.yaml key, its type and default)\n"
    "       ogai-worker --help-env       (every OGAI_* environment knob, its type and default)\n";

int Fail(const ogai::Status& st, int code) {
  ogai::LogLine(ogai::LogLevel::Error, st.ToString());
  OGAI_LOG(Debug) << "at " << st.where();
  return code;
}

}  // namespace

static int Main(int argc, char** argv) {
  const double started_ms = ogai::UnixMs();
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
    } else if (a == "--help-env") {
      ogai::Print(ogai::KnobHelp());
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
  // An elastic job on fewer (or more) ranks than its config's layout: same global batch.
  if (auto adapted = ogai::train::AdaptToWorldSize(*cfg, *env); !adapted.ok()) return Fail(adapted.status(), 2);
  // Refuse a layout that cannot fit before anything large is allocated: every rank of this
  // node needs its share (train/memory_estimate.h).
  if (const int64_t avail = ogai::AvailableMemoryBytes(); avail >= 0) {
    if (auto st = ogai::CheckMemoryFits(*cfg, env->local_world_size, avail); !st.ok()) return Fail(st, 2);
  }
  if (auto st = ogai::kernels::ApplyGemmBackendFromEnv(); !st.ok()) return Fail(st, 2);
  ogai::train::ShareCoresAmongLocalRanks(*env);
  OGAI_LOG(Info) << env->Describe() << "; gemm " << ogai::kernels::GemmBackendDescription();

  auto dist = ogai::train::SetUpDistributed(*cfg, *env);
  if (!dist.ok()) return Fail(dist.status(), 1);
  auto progress = ogai::launch::ProgressReporter::FromEnv();
  if (!progress.ok()) return Fail(progress.status(), 1);
  ogai::launch::ProgressReporter* reporter = progress->get();
  ogai::train::DistContext ctx = (*dist)->ctx;
  ctx.on_step = [reporter](int64_t step) { reporter->Report(step); };
  ctx.started_unix_ms = started_ms;
  ctx.joined_unix_ms = ogai::UnixMs();

  auto trainer = ogai::train::Trainer::Create(*cfg, ctx);
  if (!trainer.ok()) return Fail(trainer.status(), 1);
  ogai::train::RunSummary summary;
  if (auto st = (*trainer)->Run(&summary); !st.ok()) return Fail(st, 1);
  return 0;
}

int main(int argc, char** argv) { return ogai::GuardedMain("ogai-worker", argc, argv, Main); }
