// Host lists: Open MPI hostfiles, mpirun's -H syntax, and the local-host test.
//
// Hostfile (Open MPI format), one host per line:
//   # comment            blank lines and everything after '#' are ignored
//   node1 slots=4        4 process slots
//   node2                1 slot
//   node3 slots=2 max_slots=4
// `count=N` and `cpu=N` are accepted as spellings of slots=N (older Open MPI). A host named
// twice gets the sum of its slots, in the position of its first line.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::launch {

struct HostEntry {
  std::string name;
  int slots = 1;
  int max_slots = 0;  // 0: no limit given
};

// `source` names the text in messages ("hosts.txt"); errors say "source:line: what".
Result<std::vector<HostEntry>> ParseHostfile(const std::string& text, const std::string& source);
Result<std::vector<HostEntry>> ReadHostfile(const std::string& path);
// mpirun -H: "h1:4,h2:4,h3" (no :N means 1 slot).
Result<std::vector<HostEntry>> ParseHostList(const std::string& list);

// True for names that mean this machine: localhost, 127.0.0.1, ::1, and this machine's
// host name (short or full). Other loopback addresses (127.0.0.2 ...) count as other hosts,
// reached over ssh, which is how the tests stand up several "hosts" on one machine.
bool IsLocalHost(const std::string& name);

}  // namespace ogai::launch
