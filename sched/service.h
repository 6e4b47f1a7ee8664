// The gRPC front end of the scheduler: every call authenticated by the token in the metadata
// key "authorization", then answered by the Scheduler's calls (scheduler.h).
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include "core/status.h"
#include "sched/scheduler.h"

namespace ogai::sched {

// Listens on `address`: "unix:PATH" or "HOST:PORT".
Result<std::unique_ptr<grpc::Server>> StartService(Scheduler* s, const std::string& address,
                                                   std::unique_ptr<grpc::Service>* service);

// ogai's Status as a gRPC status (the message is the one line the user sees).
grpc::Status ToGrpc(const Status& st);

}  // namespace ogai::sched
