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
// Arguments are checked here, once, for every backend (process_group.cc): a bad dtype or
// reduce op, a null buffer with count > 0, a root or peer outside the group, a send to or
// receive from this rank itself, a tag outside [0, 65535], bad NewGroup ranks. Such a call
// returns a finished Work (or error) with kInvalidArgument and does not count as an
// operation of the group; the backends' Do* methods only ever see valid arguments.
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

// Everything a group needs to know about the job it runs in. comm reads no launcher
// variables itself: the caller (train/dist_setup.cc, from launch::RankEnv) passes them.
// Sub-groups inherit every field but the name.
struct ProcessGroupOptions {
  // Name shown in errors and logs ("world", "dp0", ...). Sub-groups are named by NewGroup.
  std::string name = "world";
  // How long one operation may wait for its peers before it fails.
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
  // Prepended to every store key the bootstrap writes ("<prefix>ucx/<group>/addr/<rank>",
  // "<prefix>nccl/<group>/id"). Restart-scoped: it must differ between rendezvous rounds
  // when the store outlives a round, so that a restarted group never reads the previous
  // round's addresses. dist_setup passes RankEnv::StorePrefix() ("r<restart_count>/").
  std::string store_prefix;
  // The ranks were started by an MPI-capable launcher (mpirun/mpiexec, srun): MPI can
  // bootstrap the group when no store is given (RankEnv::mpi_launcher).
  bool mpi_launcher = false;
  // Processes of this job on this node (RankEnv::local_world_size); 0: unknown, taken as the
  // group size. The shared-memory path spins less when they outnumber the cores.
  int local_world_size = 0;
  // This rank's index on its node (RankEnv::local_rank); -1: unknown. NCCL picks the CUDA
  // device local_rank % device count when `device` is -1.
  int local_rank = -1;
  // ucx, a group that spans nodes: run all-reduce and reduce-scatter over every rank (ring,
  // recursive doubling) instead of the fold chain across nodes (also
  // OGAI_COMM_FLAT=1). Faster or slower depending on the layout; its bits depend on the
  // layout (the fold chain's do not).
  bool flat_collectives = false;
  // NCCL: the CUDA device of this rank (-1: from local_rank, else 0).
  int device = -1;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup();

  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::string& name() const { return options_.name; }
  std::chrono::milliseconds timeout() const { return options_.timeout; }
  const ProcessGroupOptions& options() const { return options_; }
  virtual const char* backend() const = 0;
  // How this rank reaches `peer` (a rank of this group), as the backend chose it: e.g.
  // "ucx:tcp/eth0 (other node)", "ucx:posix/memory,cma/memory (same node)"; "" when the
  // backend cannot tell (mpi, nccl).
  virtual std::string TransportTo(int peer) const;

  // recv[i] = op over ranks of send[i], on every rank. count elements each.
  WorkPtr AllReduce(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op);
  // send holds size()*count elements; rank r gets block r of the reduction in recv (count).
  WorkPtr ReduceScatter(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op);
  // recv (size()*count elements) gets every rank's send (count elements), in rank order.
  WorkPtr AllGather(const void* send, void* recv, size_t count, DataType dtype);
  // buf of every rank gets root's buf.
  WorkPtr Broadcast(void* buf, size_t count, DataType dtype, int root);
  // Point-to-point with another rank of the group (never this rank itself). Messages
  // between a pair with the same tag (0 <= tag < 65536) arrive in the order they were sent.
  // A Send completes when its buffer may be reused.
  WorkPtr Send(const void* buf, size_t count, DataType dtype, int dst, int tag);
  WorkPtr Recv(void* buf, size_t count, DataType dtype, int src, int tag);
  WorkPtr Barrier();

  // A group of the given ranks of this group (this group's numbering; the new group's rank
  // i is ranks[i]). Called by exactly the ranks in `ranks`, each group in the same order on
  // every member; non-members do not call it. name must be unique among the groups.
  Result<std::unique_ptr<ProcessGroup>> NewGroup(const std::vector<int>& ranks, const std::string& name);

 protected:
  ProcessGroup(int rank, int size, ProcessGroupOptions options)
      : rank_(rank), size_(size), options_(std::move(options)) {}

  // The backend's operations, called with checked arguments only.
  virtual WorkPtr DoAllReduce(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) = 0;
  virtual WorkPtr DoReduceScatter(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) = 0;
  virtual WorkPtr DoAllGather(const void* send, void* recv, size_t count, DataType dtype) = 0;
  virtual WorkPtr DoBroadcast(void* buf, size_t count, DataType dtype, int root) = 0;
  virtual WorkPtr DoSend(const void* buf, size_t count, DataType dtype, int dst, int tag) = 0;
  virtual WorkPtr DoRecv(void* buf, size_t count, DataType dtype, int src, int tag) = 0;
  virtual WorkPtr DoBarrier() = 0;
  // ranks are distinct, inside this group, and ranks[my_index] == rank(); `options` are
  // this group's with the new name.
  virtual Result<std::unique_ptr<ProcessGroup>> DoNewGroup(const std::vector<int>& ranks, int my_index,
                                                           const ProcessGroupOptions& options) = 0;

 private:
  int rank_;
  int size_;
  ProcessGroupOptions options_;
};

// Creates the world group of this rank.
//   backend: "ucx", "mpi", "nccl", or "auto" (mpi when options.mpi_launcher and no store
//            is given, else ucx).
//   store:   the job's store; nullptr means "bootstrap through MPI" (ranks started by
//            mpirun or srun --mpi=pmix: options.mpi_launcher), in which case rank and size
//            must be MPI's.
// Errors say which backend is not built or not usable here, and how to pick another.
Result<std::unique_ptr<ProcessGroup>> CreateProcessGroup(const std::string& backend,
                                                         std::shared_ptr<store::Store> store, int rank, int size,
                                                         const ProcessGroupOptions& options = {});

// The backends compiled into this build ("ucx", "mpi", and "nccl" when CUDA+NCCL were found).
std::vector<std::string> AvailableBackends();

}  // namespace ogai::comm
