// The nccl backend: GPU collectives through NCCL. Buffers are device pointers.
//
// Stream order (as in PyTorch): every operation is enqueued on the group's own CUDA stream
// after the caller's stream (SetNcclStream; default the legacy default stream), and
// Work::Wait() makes the caller's stream wait for it without blocking the host.
// Work::Wait(finite timeout) blocks the host until the operation finished or the timeout
// passed; on timeout the communicator is aborted (NCCL cannot name the missing ranks: the
// error says so and names the group and op). fp32, bf16 and fp16 are supported.
#pragma once

#include <memory>

#include "comm/process_group.h"

namespace ogai::comm::nccl {

// Shares the NCCL unique id through `store` (key "<options.store_prefix>nccl/<group>/id").
// The CUDA device is options.device, else options.local_rank % device count, else 0.
Result<std::unique_ptr<ProcessGroup>> CreateNcclProcessGroup(std::shared_ptr<store::Store> store, int rank, int size,
                                                             const ProcessGroupOptions& options);

// Sets the CUDA stream (a cudaStream_t) that later operations of `pg` follow.
// kInvalidArgument if pg is not an nccl group.
Status SetNcclStream(ProcessGroup& pg, void* cuda_stream);

// Number of CUDA devices visible (0 without a GPU or driver); for tests that skip.
int CudaDeviceCount();

}  // namespace ogai::comm::nccl
