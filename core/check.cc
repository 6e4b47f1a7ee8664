#include "core/check.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ogai::internal {

void CheckFailed(const char* file, int line, const std::string& what) {
  // The path from the project root, as Status locations print it.
  const char* root = OGAI_SOURCE_DIR;
  const size_t n = std::strlen(root);
  if (std::strncmp(file, root, n) == 0) file += n;
  std::fprintf(stderr, "ogai: check failed at %s:%d: %s\n", file, line, what.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace ogai::internal
