// Test spawner: starts real rank processes (tests/util/child.h) and collects their exit
// codes and output, killing them all if they outlive a deadline.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace ogai::testing {

struct RankResult {
  int exit_code = -1;  // -1: killed (timeout) or signalled
  std::string output;  // stdout + stderr
};

struct SpawnResult {
  std::vector<RankResult> ranks;
  bool timed_out = false;
  // Every rank's output, prefixed, for test failure messages.
  std::string Describe() const;
  bool AllOk() const;
};

// Starts `n` processes of argv, rank i with OGAI_TEST_RANK=i, OGAI_TEST_WORLD=n plus `env`.
SpawnResult SpawnRanks(int n, const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       std::chrono::seconds timeout);

// Runs one command (e.g. mpirun ...) with a deadline; its output in ranks[0].
SpawnResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       std::chrono::seconds timeout);

}  // namespace ogai::testing
