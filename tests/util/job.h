// Helpers for tests that run whole jobs through ogai-run and read their metrics files.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace ogai::testing {

// The build directory (OGAI_BUILD_DIR, set by ctest; "build" otherwise).
std::string BuildDir();
// A fresh directory under $TMPDIR (or /tmp), named after `tag`, removed with everything in it
// by the destructor. Throws if it cannot be made.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "ogai_test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct JobResult {
  int exit_code = -1;  // the shell's exit status (128 + signal; -1 after a timeout)
  std::string output;  // stdout + stderr
};
// Runs `command` with /bin/sh (a Child, tests/util/child.h), output captured; when it runs
// past timeout_s it is killed with everything it started and the test fails.
JobResult RunShell(const std::string& command, double timeout_s = 600);

struct StepMetrics {
  int64_t step = 0;
  double loss = 0;
  std::string loss_bits;
};
// The per-step lines of a train.metrics_file, and its final memory line (empty if none).
std::vector<StepMetrics> ReadStepMetrics(const std::string& path);
std::map<std::string, long long> ReadMemoryMetrics(const std::string& path);
// Writes (replacing) a synthetic metrics file of `steps` step lines after one start line: a
// decaying loss with a small saw-tooth, and every 1000 steps an eval record as the trainer
// writes it (bits per byte null in the first, measured in the others), for the report and
// dashboard tests of big runs.
void WriteSyntheticMetrics(const std::string& path, int steps);

// Writes `text` to `path`.
void WriteFile(const std::string& path, const std::string& text);
// The bytes of the file at `path`, empty when it cannot be read (core/file_io.h's ReadFile
// for tests that check the content, not the error).
std::string ReadText(const std::string& path);

}  // namespace ogai::testing
