// Work: the handle every ProcessGroup call returns.
//
// A collective starts when it is called and progresses on its own (the backend's progress
// thread, or the GPU stream for NCCL). The caller may compute meanwhile and then Wait().
//
// Contract:
//   - Wait() returns once the operation finished, with its status. It never blocks forever:
//     every operation carries the group's timeout and fails with kTimeout when a peer does
//     not take part, naming the group, the op and the ranks that did not arrive.
//   - Wait(timeout) also returns kTimeout if the operation is still running after `timeout`;
//     the operation keeps running (call Abort() to give up on it).
//   - Test() returns true once the operation finished (successfully or not); never blocks.
//   - Abort() cancels the operation if it has not finished; it then fails with kAborted.
//     A failed or aborted operation leaves the group unusable (its peers may be half-way
//     through it): later calls on the group fail at once and say why.
//   - For NCCL, Wait() without a timeout makes the caller's stream wait for the operation
//     (stream order, as in PyTorch) and returns at once; Wait(timeout) blocks the host until
//     the operation is done on the GPU, or the timeout (the communicator is then aborted).
#pragma once

#include <chrono>
#include <memory>

#include "core/status.h"

namespace ogai::comm {

class Work {
 public:
  virtual ~Work();
  Status Wait() { return Wait(std::chrono::milliseconds::max()); }
  virtual Status Wait(std::chrono::milliseconds timeout) = 0;
  virtual bool Test() = 0;
  virtual void Abort() = 0;
  // The final status once Test() is true; OK while running.
  virtual Status status() const = 0;
};

using WorkPtr = std::shared_ptr<Work>;

// A Work that is already finished with `status` (used for no-op calls and early errors).
WorkPtr MakeCompletedWork(Status status);

}  // namespace ogai::comm
