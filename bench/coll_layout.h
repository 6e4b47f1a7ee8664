// What `ogai-bench coll` records about the layout it ran on (coll_layout.cc): which node
// each rank is on, how each pair of ranks talks, and the raw TCP stream bandwidth between
// two nodes, measured by the bench itself as the ceiling of any inter-node transport.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "comm/process_group.h"

namespace ogai::bench {

struct CollLayout {
  std::vector<std::string> hosts;  // per rank, its host name
  int nodes = 1;
  std::string transports_json;  // {"0-1":"ucx:...", ...}: rank i's view of i -> j, i < j
  double tcp_stream_gbs = 0;    // rank 0 to the first rank on another node; 0 on one node
};

// Collective over MPI_COMM_WORLD; the result is meaningful on rank 0. stream_bytes: how much
// one TCP stream measurement sends (median of three).
CollLayout MeasureLayout(comm::ProcessGroup& pg, size_t stream_bytes);

}  // namespace ogai::bench
