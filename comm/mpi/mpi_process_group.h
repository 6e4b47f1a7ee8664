// The mpi backend: the ProcessGroup API mapped onto MPI (non-blocking collectives driven
// by the group's progress thread, sub-groups via MPI_Comm_create_group). Used when ranks
// were started by mpirun or srun --mpi=pmix.
#pragma once

#include <memory>

#include "comm/process_group.h"

namespace ogai::comm::mpi {

// The world group over MPI_COMM_WORLD (initialises MPI if needed). rank/size must be MPI's.
Result<std::unique_ptr<ProcessGroup>> CreateMpiProcessGroup(int rank, int size, const ProcessGroupOptions& options);

}  // namespace ogai::comm::mpi
