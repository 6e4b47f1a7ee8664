// ogai-run: the launcher. `ogai-run --help` and docs/launcher.md describe it.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/knobs.h"
#include "core/log.h"
#include "core/main_guard.h"
#include "launcher/console.h"
#include "launcher/dry_run.h"
#include "launcher/failure.h"
#include "launcher/launcher.h"
#include "launcher/options.h"
#include "launcher/remote.h"
#include "train/config.h"

namespace {

int UsageError(const ogai::Status& st) {
  ogai::launch::console::Error(st.ToString());
  return ogai::launch::kExitUsage;
}

}  // namespace

static int Main(int argc, char** argv) {
  using namespace ogai::launch;
  ogai::SetLogProcessName("ogai-run");
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = ParseCommandLine(args);
  if (!parsed.ok()) return UsageError(parsed.status());
  RunOptions opts = std::move(parsed).value();
  if (opts.verbosity == 1) ogai::SetLogLevel(ogai::LogLevel::Info);
  if (opts.verbosity >= 2) ogai::SetLogLevel(ogai::LogLevel::Debug);
  if (!ogai::ApplyLogLevelFromEnv()) {
    return UsageError(ogai::InvalidArgument("OGAI_LOG_LEVEL must be error, warn, info or debug"));
  }
  switch (opts.mode) {
    case RunMode::kHelp: ogai::Print(UsageText()); return 0;
    case RunMode::kHelpConfig: ogai::Print(ogai::ConfigSchemaHelp()); return 0;
    case RunMode::kHelpEnv: ogai::Print(ogai::KnobHelp()); return 0;
    case RunMode::kVersion: ogai::Print("ogai-run 0.1.0"); return 0;
    case RunMode::kAgent: return RunAgent(opts);
    case RunMode::kRun: break;
  }
  if (!opts.train_yaml.empty()) {
    // A training job: the ranks run ogai-worker with the same config and overrides.
    auto cfg = ogai::LoadConfig(opts.train_yaml, opts.overrides);
    if (!cfg.ok()) return UsageError(cfg.status());
    MergeLaunchConfig(opts, cfg->launch);
    if (opts.launch.np == 0 && opts.launch.nproc_per_node == 0 && opts.launch.hosts.empty() &&
        opts.launch.hostfile.empty()) {
      opts.launch.np = cfg->parallel.dp * cfg->parallel.tp * cfg->parallel.pp;
    }
    // A rank count the layout cannot use is refused before anything starts, with the
    // message every rank would stop with. Elastic runs (--nnodes MIN:MAX) fit the layout to
    // the ranks they get, so they are left alone.
    if (opts.launch.np > 0 && opts.launch.nnodes.empty()) {
      if (ogai::Status st = ogai::CheckRankCount(cfg->parallel, opts.launch.np); !st.ok()) return UsageError(st);
    }
    std::string self = SelfExecutable();
    std::string worker = std::filesystem::path(self).parent_path() / "ogai-worker";
    if (::access(worker.c_str(), X_OK) != 0) {
      return UsageError(ogai::NotFound("ogai-worker not found next to ogai-run (" + worker +
                                       "): build the runtime (cmake --build build)"));
    }
    opts.program = {worker, std::filesystem::absolute(opts.train_yaml).string()};
    opts.program.insert(opts.program.end(), opts.overrides.begin(), opts.overrides.end());
    for (int i = 0; i < opts.verbosity && i < 2; ++i) opts.program.push_back("-v");
    opts.shard_cache = cfg->checkpoint.peer_copies > 0 && !cfg->checkpoint.dir.empty();
    if (opts.dry_run) return RunDryRun(opts);
  } else if (opts.dry_run) {
    return UsageError(ogai::InvalidArgument("--dry-run plans a training job: give a train.yaml"));
  }
  return RunLauncher(opts);
}

int main(int argc, char** argv) { return ogai::GuardedMain("ogai-run", argc, argv, Main); }
