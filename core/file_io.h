// Small POSIX file helpers shared by the components that write files (checkpoints, token
// shards, peer copies).
#pragma once

#include <cstddef>
#include <string>

#include "core/status.h"

namespace ogai {

// Writes all n bytes to fd (retrying short writes and EINTR); an error names `path`.
Status WriteAllFd(int fd, const void* data, size_t n, const std::string& path);

}  // namespace ogai
