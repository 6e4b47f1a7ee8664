// Helpers shared by the checkpoint tests: temp directories, child processes, file damage.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/util/job.h"

namespace ogai::ckpt::testing {

using ogai::testing::TempDir;

// The build's bin/ directory (OGAI_BUILD_DIR from ctest) and the source tree.
std::string BinPath(const std::string& name);
std::string SourcePath(const std::string& rel);

// A child process with stdout+stderr captured to a file; killed (SIGKILL) and reaped at
// destruction if still running, so no test leaves a process behind.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log_path,
        const std::vector<std::string>& env = {});
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  // Waits up to timeout_s; returns the exit code, 128+signal, or -1 on timeout.
  int Wait(double timeout_s);
  // True if it has not exited yet (reaps it if it has).
  bool Running();
  void Kill();  // SIGKILL + reap

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  bool reaped_ = false;
};

// Runs argv to completion (timeout_s); returns the exit code and fills *output.
int RunCommand(const std::vector<std::string>& argv, std::string* output, double timeout_s = 120);

std::string ReadFile(const std::string& path);
int64_t FileSize(const std::string& path);
void FlipByte(const std::string& path, int64_t offset);
void TruncateFile(const std::string& path, int64_t size);
// The loss_bits of each line of a metrics file, by step.
std::vector<std::pair<int64_t, std::string>> LossBits(const std::string& metrics_path);

}  // namespace ogai::ckpt::testing
