#include "core/shm_segment.h"

#include <dirent.h>
#include <sys/mman.h>

namespace ogai {
namespace {

std::string Prefix(pid_t pid) { return "ogai-" + std::to_string(pid) + "-"; }

}  // namespace

std::string ShmSegmentName(pid_t pid, uint64_t n, uint32_t random) {
  return "/" + Prefix(pid) + std::to_string(n) + "-" + std::to_string(random);
}

int RemoveShmSegmentsOf(pid_t pid) {
  const std::string prefix = Prefix(pid);
  DIR* d = ::opendir("/dev/shm");
  if (d == nullptr) return 0;
  int removed = 0;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(prefix, 0) == 0 && ::shm_unlink(("/" + name).c_str()) == 0) ++removed;
  }
  ::closedir(d);
  return removed;
}

}  // namespace ogai
