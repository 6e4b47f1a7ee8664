// ProcessGroup: a set of ranks that run collectives together.
//
// One ProcessGroup object per rank per group. Every member calls the same collectives in
// the same order (per group); calls on different groups are independent. Buffers are raw
// pointers (host memory for ucx/mpi, device memory for nccl) that must stay valid, and must
// not be touched, until the returned Work finishes.
//
// Sizes are in elements of `dtype`. In-place means the same pointer is passed as input and
// output (for all-gather: send == recv + rank*count; for reduce-scatter: recv == send +
// rank*count). Zero elements is valid and completes without communicating.
//
// Reductions are deterministic: the same inputs give the same bits on every run and on
// every rank of the group (the combining order is fixed by the algorithm, never by timing).
//
// Create the world group with CreateProcessGroup(), and sub-groups with NewGroup() or a
// DeviceMesh (device_mesh.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "comm/types.h"
#include "comm/work.h"
#include "core/status.h"
#include "store/store.h"

namespace ogai::comm {

struct ProcessGroupOptions {
  // Name shown in errors and logs ("world", "dp0", ...). Sub-groups are named by NewGroup.
  std::string name = "world";
  // How long one operation may wait for its peers before it fails.
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
  // NCCL: the CUDA device of this rank (-1: LOCAL_RANK, else 0).
  int device = -1;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup();

  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::string& name() const { return name_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  virtual const char* backend() const = 0;

  // recv[i] = op over ranks of send[i], on every rank. count elements each.
  virtual WorkPtr AllReduce(const void* send, void* recv, size_t count, DataType dtype,
                            ReduceOp op) = 0;
  // send holds size()*count elements; rank r gets block r of the reduction in recv (count).
  virtual WorkPtr ReduceScatter(const void* send, void* recv, size_t count, DataType dtype,
                                ReduceOp op) = 0;
  // recv (size()*count elements) gets every rank's send (count elements), in rank order.
  virtual WorkPtr AllGather(const void* send, void* recv, size_t count, DataType dtype) = 0;
  // buf of every rank gets root's buf.
  virtual WorkPtr Broadcast(void* buf, size_t count, DataType dtype, int root) = 0;
  // Point-to-point. Messages between a pair with the same tag (0 <= tag < 65536) arrive in
  // the order they were sent. A Send completes when its buffer may be reused.
  virtual WorkPtr Send(const void* buf, size_t count, DataType dtype, int dst, int tag) = 0;
  virtual WorkPtr Recv(void* buf, size_t count, DataType dtype, int src, int tag) = 0;
  virtual WorkPtr Barrier() = 0;

  // A group of the given ranks of this group (this group's numbering; the new group's rank
  // i is ranks[i]). Called by exactly the ranks in `ranks`, each group in the same order on
  // every member; non-members do not call it. name must be unique among the groups.
  virtual Result<std::unique_ptr<ProcessGroup>> NewGroup(const std::vector<int>& ranks,
                                                         const std::string& name) = 0;

 protected:
  ProcessGroup(int rank, int size, std::string name, std::chrono::milliseconds timeout)
      : rank_(rank), size_(size), name_(std::move(name)), timeout_(timeout) {}

 private:
  int rank_;
  int size_;
  std::string name_;
  std::chrono::milliseconds timeout_;
};

// Creates the world group of this rank.
//   backend: "ucx", "mpi", "nccl", or "auto" (mpi when started by mpirun/srun and no store
//            is given, else ucx).
//   store:   the job's store; nullptr means "bootstrap through MPI" (ranks started by
//            mpirun or srun --mpi=pmix), in which case rank and size must be MPI's.
// Errors say which backend is not built or not usable here, and how to pick another.
Result<std::unique_ptr<ProcessGroup>> CreateProcessGroup(const std::string& backend,
                                                         std::shared_ptr<store::Store> store,
                                                         int rank, int size,
                                                         const ProcessGroupOptions& options = {});

// The backends compiled into this build ("ucx", "mpi", and "nccl" when CUDA+NCCL were found).
std::vector<std::string> AvailableBackends();

// True when this process was started by mpirun/mpiexec (Open MPI, MPICH/Hydra) or srun.
bool StartedByMpiLauncher();

}  // namespace ogai::comm
