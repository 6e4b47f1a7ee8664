// MPI process environment shared by the mpi backend and the ucx bootstrap (internal).
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::comm::mpi {

// Initialises MPI with MPI_THREAD_MULTIPLE unless already initialised (then checks the
// thread level). MPI is finalised at process exit if ogai initialised it.
Status EnsureMpi();
int WorldRank();
int WorldSize();
// Every rank's string, in rank order (MPI_Allgatherv on comm).
Result<std::vector<std::string>> AllGatherStrings(MPI_Comm comm, const std::string& mine);
// "MPI_ERR_...: message" for an MPI error code.
Status MpiError(const std::string& what, int code);

}  // namespace ogai::comm::mpi
