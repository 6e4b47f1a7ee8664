// The PMIx client side a rank uses to tell the other ranks of its job something before any
// store exists: under `srun --mpi=pmix` (or any PMIx launcher), rank 0 publishes where its
// store listens (a port the kernel chose) and the others read it. The data travels through the
// launcher's PMIx servers (slurmstepd under Slurm), across nodes, never through a file.
//
//   auto p = PmixPeers::Connect();         // PMIx_Init; an error if no PMIx server is there
//   if (rank == 0) p->Publish("k", "v");   // PMIx_Put (global) + PMIx_Commit
//   p->Fence(timeout);                     // PMIx_Fence over the job, collecting the data
//   p->Lookup(0, "k");                     // PMIx_Get of rank 0's value
//
// PMIx_Init and PMIx_Finalize are counted by the library, so an MPI library initialising
// PMIx again in the same process is fine; the destructor calls PMIx_Finalize.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/status.h"

namespace ogai::launch {

// True when the environment carries a PMIx server's address (PMIX_NAMESPACE and a
// PMIX_SERVER_URI* variable), i.e. Connect() can work.
bool PmixClientAvailable();

class PmixPeers {
 public:
  static Result<std::unique_ptr<PmixPeers>> Connect();
  ~PmixPeers();
  PmixPeers(const PmixPeers&) = delete;
  PmixPeers& operator=(const PmixPeers&) = delete;

  int rank() const { return rank_; }
  Status Publish(const std::string& key, const std::string& value);
  Status Fence(std::chrono::milliseconds timeout);
  Result<std::string> Lookup(int rank, const std::string& key);

 private:
  PmixPeers() = default;
  std::string nspace_;
  int rank_ = -1;
};

}  // namespace ogai::launch
