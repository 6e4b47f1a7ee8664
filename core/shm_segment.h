// The names of ogai's POSIX shared-memory segments (comm/shm: one per rank and group), and the
// clean-up of a dead process's segments.
//
// A segment is named "/ogai-<pid>-<n>-<random>" after the process that made it. Its maker
// unlinks it once every peer has mapped it, or when it ends; a process killed before then
// leaves it in /dev/shm. Whoever reaps such a process (the launcher's agent, for the ranks it
// started) calls RemoveShmSegmentsOf(pid): the maker is gone, so no peer can still attach.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace ogai {

// The shm_open name of the `n`th segment this process makes.
std::string ShmSegmentName(pid_t pid, uint64_t n, uint32_t random);

// Unlinks every segment made by `pid`; returns how many.
int RemoveShmSegmentsOf(pid_t pid);

}  // namespace ogai
