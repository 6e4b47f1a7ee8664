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
using AddressExchange = std::function<Result<std::vector<std::string>>(const std::string& my_address)>;

// Creates a group; `exchange` is the bootstrap (through the store or MPI).
Result<std::unique_ptr<ProcessGroup>> CreateUcxProcessGroup(int rank, int size, const ProcessGroupOptions& options,
                                                            const AddressExchange& exchange);

// Bootstraps through the store: key "<key_prefix>ucx/<group>/addr/<rank>" (key_prefix is
// ProcessGroupOptions::store_prefix, restart-scoped by the caller).
AddressExchange StoreExchange(std::shared_ptr<store::Store> store, const std::string& key_prefix, int rank, int size,
                              const std::string& group, std::chrono::milliseconds timeout);

}  // namespace ogai::comm::ucx
