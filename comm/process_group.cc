#include "comm/process_group.h"

#include "comm/mpi/mpi_env.h"
#include "comm/mpi/mpi_process_group.h"
#include "comm/ucx/ucx_process_group.h"
#include "core/log.h"
#ifdef OGAI_HAVE_NCCL
#include "comm/nccl/nccl_process_group.h"
#endif

namespace ogai::comm {

ProcessGroup::~ProcessGroup() = default;

std::string ProcessGroup::TransportTo(int) const { return ""; }

std::vector<std::string> AvailableBackends() {
  std::vector<std::string> b = {"ucx", "mpi"};
#ifdef OGAI_HAVE_NCCL
  b.push_back("nccl");
#endif
  return b;
}

Result<std::unique_ptr<ProcessGroup>> CreateProcessGroup(const std::string& backend_in,
                                                         std::shared_ptr<store::Store> store, int rank, int size,
                                                         const ProcessGroupOptions& options) {
  std::string backend = backend_in;
  if (backend == "auto") backend = (store == nullptr && options.mpi_launcher) ? "mpi" : "ucx";
  if (size <= 0 || rank < 0 || rank >= size) {
    return InvalidArgument("rank " + std::to_string(rank) + " is outside world size " + std::to_string(size));
  }
  if (backend == "ucx") {
    if (store != nullptr) {
      return ucx::CreateUcxProcessGroup(
          rank, size, options,
          ucx::StoreExchange(store, options.store_prefix, rank, size, options.name, options.timeout));
    }
    if (!options.mpi_launcher) {
      return InvalidArgument(
          "ucx backend needs a store to find its peers (MASTER_ADDR/MASTER_PORT from ogai-run), "
          "or ranks started by mpirun/srun to bootstrap through MPI");
    }
    OGAI_RETURN_IF_ERROR(mpi::EnsureMpi());
    if (rank != mpi::WorldRank() || size != mpi::WorldSize()) {
      return InvalidArgument("ucx over MPI bootstrap: rank/size " + std::to_string(rank) + "/" + std::to_string(size) +
                             " differ from MPI's " + std::to_string(mpi::WorldRank()) + "/" +
                             std::to_string(mpi::WorldSize()));
    }
    return ucx::CreateUcxProcessGroup(
        rank, size, options, [](const std::string& mine) { return mpi::AllGatherStrings(MPI_COMM_WORLD, mine); });
  }
  if (backend == "mpi") {
    if (store != nullptr && !options.mpi_launcher) {
      OGAI_LOG(Warn) << "mpi backend: this process was not started by mpirun/srun; MPI will run it as a "
                        "singleton (world size 1)";
    }
    return mpi::CreateMpiProcessGroup(rank, size, options);
  }
  if (backend == "nccl") {
#ifdef OGAI_HAVE_NCCL
    if (store == nullptr) return InvalidArgument("nccl backend needs a store to share its unique id");
    return nccl::CreateNcclProcessGroup(store, rank, size, options);
#else
    return NotSupported(
        "this build of ogai has no NCCL backend: CUDA and NCCL were not found when it was "
        "configured (install them and re-run cmake), or use --backend ucx");
#endif
  }
  std::string names;
  for (const auto& b : AvailableBackends()) names += (names.empty() ? "" : ", ") + b;
  return InvalidArgument("unknown comm backend '" + backend_in + "' (this build has: " + names + ", auto)");
}

}  // namespace ogai::comm
