// Helpers for the recovery tests: a training job through ogai-run that the test breaks on
// purpose (kills or stops a rank, kills a node's agent), and the metrics files it reads
// afterwards.
//
// Each job runs in a fresh temp folder with train.metrics_file=<dir>/m_{rank}.jsonl and
// checkpoint.dir=<dir>/ckpt; every rank carries OGAI_TEST_MARK=<mark> (-x), which is how
// the test finds a rank's process (by its RANK and OGAI_RESTART_COUNT) and checks that no
// process of the job is left at the end.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/launcher/run_util.h"

namespace ogai::recovery_testing {

// A small model whose steps take long enough (tens of ms on a loaded 2-core machine) for a
// test to break a rank mid-run; `steps` steps, a checkpoint every 5.
std::string TestConfig(int steps = 40);

struct StepLine {
  int64_t step = 0;
  double loss = 0;
  std::string loss_bits;
  int restart = 0;
};
struct StartLine {
  int restart = 0;
  int rank = 0;
  int world = 0;
  int dp = 0;
  int grad_accum = 0;
  int64_t pid = 0;
  int64_t resume_step = 0;
  std::string source;  // none | disk | peer | mixed
  int files = 0;
  int peer_files = 0;
};
struct Metrics {
  std::vector<StepLine> lines;           // every step line, in file order
  std::map<int64_t, StepLine> final;     // per step, the last line (what the run ends with)
  std::vector<StartLine> starts;         // one per start of the rank
  std::vector<int64_t> peer_copy_steps;  // steps whose shard was copied to peer memory
  int64_t MaxStep(int restart = -1) const;
  const StartLine* Start(int restart) const;
};
Metrics ReadMetrics(const std::string& path);

// The process of `rank` in round `restart` of the job marked `mark` (ogai-worker carrying
// OGAI_TEST_MARK=<mark>, RANK=<rank>, OGAI_RESTART_COUNT=<restart>); -1 if none.
pid_t RankPid(const std::string& mark, int rank, int restart);
// The value of `key` in the environment `pid` started with ("" if absent).
std::string EnvOf(pid_t pid, const std::string& key);
// The parent of `pid` (a rank's parent is its node's agent); -1 if gone.
pid_t ParentOf(pid_t pid);

// A job: its folder, its mark, and ogai-run running as a child.
class Job {
 public:
  // `flags`: ogai-run flags before the config; `overrides`: section.key=value after it.
  Job(const std::string& tag, const std::vector<std::string>& flags, const std::vector<std::string>& overrides,
      int steps = 40, const std::vector<std::string>& env = {});
  ~Job();
  const std::string& dir() const { return dir_; }
  const std::string& mark() const { return mark_; }
  std::string MetricsPath(int rank) const;
  Metrics ReadRank(int rank) const { return ReadMetrics(MetricsPath(rank)); }
  // Polls (while relaying ogai-run's output) until pred() or `timeout` seconds.
  bool WaitUntil(const std::function<bool()>& pred, double timeout);
  // ogai-run's exit code (-1 after `timeout`, when it is killed).
  int Wait(double timeout = 240);
  std::string out() const { return child_->out(); }
  std::string err() const { return child_->err(); }
  // Processes of the job still alive (after up to `grace` seconds).
  std::vector<pid_t> Leftovers(double grace = 5.0) const;

 private:
  std::string dir_, mark_;
  std::unique_ptr<launch::testing::Child> child_;
};

// Every rank in `ranks` has made the peer copy of checkpoint `step` (or a later one).
bool PeerCopied(const Job& job, const std::vector<int>& ranks, int64_t step);
// The step of the job's latest committed checkpoint (0 if none yet).
int64_t LatestStep(const Job& job);
// Waits until the latest committed checkpoint (at least `min_step`) has its peer copies on
// every rank in `ranks`: a kill then restarts from that checkpoint out of peer memory, as
// long as the next checkpoint is far enough away (a copy can take 15-20 steps of the test
// model on a quiet machine).
bool WaitForPeerCopiedLatest(Job& job, const std::vector<int>& ranks, int64_t min_step, double timeout = 120);

// Runs the same job to the end without any fault and returns rank 0's metrics.
Metrics ReferenceRun(const std::string& tag, const std::vector<std::string>& flags,
                     const std::vector<std::string>& overrides, int steps = 40, std::string* log = nullptr);

}  // namespace ogai::recovery_testing
