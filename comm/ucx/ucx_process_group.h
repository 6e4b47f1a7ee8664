// The ucx backend: CPU collectives over UCX (shared memory on a node, TCP or RDMA across
// nodes), with ogai's own algorithms (algorithms.h) and one progress thread per group.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "comm/process_group.h"

namespace ogai::comm::ucx {

// Given this rank's UCX worker address, returns every member's address in rank order.
using AddressExchange =
    std::function<Result<std::vector<std::string>>(const std::string& my_address)>;

// Creates a group; `exchange` is the bootstrap (through the store or MPI).
Result<std::unique_ptr<ProcessGroup>> CreateUcxProcessGroup(int rank, int size,
                                                            const ProcessGroupOptions& options,
                                                            const AddressExchange& exchange);

// Bootstraps through the store: key "ucx/<restart>/<group>/addr/<rank>"
// (restart = OGAI_RESTART_COUNT, 0 if unset).
AddressExchange StoreExchange(std::shared_ptr<store::Store> store, int rank, int size,
                              const std::string& group, std::chrono::milliseconds timeout);

}  // namespace ogai::comm::ucx
