// Helpers shared by the checkpoint tests: paths, child processes, file damage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/util/child.h"
#include "tests/util/job.h"

namespace ogai::ckpt::testing {

using ogai::testing::TempDir;

// The build's bin/ directory (OGAI_BUILD_DIR from ctest) and the source tree.
std::string BinPath(const std::string& name);
std::string SourcePath(const std::string& rel);

// Children are tests/util/child.h's.
using ogai::testing::Child;

// Runs argv to completion (a timeout kills it and fails the test); returns the exit code and
// fills *output.
int RunCommand(const std::vector<std::string>& argv, std::string* output, double timeout_s = 120);

// A whole file's bytes are tests/util/job.h's ReadText.
using ogai::testing::ReadText;

int64_t FileSize(const std::string& path);
void FlipByte(const std::string& path, int64_t offset);
void TruncateFile(const std::string& path, int64_t size);
// The loss_bits of each line of a metrics file, by step.
std::vector<std::pair<int64_t, std::string>> LossBits(const std::string& metrics_path);

}  // namespace ogai::ckpt::testing
