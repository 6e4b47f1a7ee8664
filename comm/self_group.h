// A process group of one rank, for host memory (ucx and mpi backends): every collective is a
// copy of send into recv (or nothing, in place), finished when it returns; there is no peer
// to send to or receive from (ProcessGroup rejects a send or receive to the rank itself).
// DeviceMesh uses it for the groups of size 1 (tp = 1, pp = 1, ...), which then cost no
// transport, no progress thread and no start-up exchange.
#pragma once

#include <memory>

#include "comm/process_group.h"

namespace ogai::comm {

std::unique_ptr<ProcessGroup> MakeSelfGroup(const ProcessGroupOptions& options);

}  // namespace ogai::comm
