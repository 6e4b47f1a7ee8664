// The project's file helpers: ReadFile for a whole (small) file, WriteAllFd for files whose
// loss is an error (checkpoints, token shards, peer copies), WriteAll for output streams.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace ogai {

// The whole file's bytes. A file that cannot be opened is NotFound "cannot read PATH: why";
// a read that fails part way is an IoError naming PATH.
Result<std::string> ReadFile(const std::string& path);

// Writes all n bytes to fd, retrying short writes, EINTR and EAGAIN (a full non-blocking
// pipe); any other error, or a write that makes no progress, is an error naming `path`.
Status WriteAllFd(int fd, const void* data, size_t n, const std::string& path);

// Best effort, for output streams (stderr, stdout, a child's pipe): WriteAllFd, dropping the
// rest on an error, because there is nowhere left to report it.
void WriteAll(int fd, std::string_view s);

}  // namespace ogai
