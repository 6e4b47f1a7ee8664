#include "core/check.h"

#include <cstdio>
#include <cstdlib>

#include "core/status.h"

namespace ogai::internal {

void CheckFailed(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "ogai: check failed at %s:%d: %s\n", ProjectPath(file).c_str(), line, what.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace ogai::internal
