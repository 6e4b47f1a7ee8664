#include "launcher/dry_run.h"

#include <sys/wait.h>

#include <cerrno>

#include "core/log.h"
#include "launcher/console.h"
#include "launcher/failure.h"
#include "launcher/launcher.h"
#include "launcher/process.h"

extern char** environ;

namespace ogai::launch {

int RunDryRun(const RunOptions& opts) {
  bool slurm = false;
  auto plan = PlanJob(opts, &slurm);
  if (!plan.ok()) {
    console::Error(plan.status().ToString());
    return kExitUsage;
  }
  Print("ogai-run --dry-run: the plan of this job; nothing is started");
  Print("ranks:   " + plan->Describe() + (slurm ? " (the Slurm allocation; agents via srun)" : ""));
  std::string cmd;
  for (size_t i = 0; i < opts.program.size(); ++i) cmd += (i ? " " : "") + opts.program[i];
  Print("each:    " + cmd);
  SpawnRequest req;
  req.argv = {opts.program[0], "--dry-run", "--world", std::to_string(plan->world_size)};
  req.argv.insert(req.argv.end(), opts.program.begin() + 1, opts.program.end());
  for (char** e = environ; *e != nullptr; ++e) req.env.push_back(*e);
  req.new_session = false;
  auto pid = Spawn(req);
  if (!pid.ok()) {
    console::Error(pid.status().ToString());
    return kExitLauncher;
  }
  int status = 0;
  while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return kExitLauncher;
}

}  // namespace ogai::launch
