// The gRPC front end of the scheduler: every call authenticated by the token in the metadata
// key "authorization", then answered by the Scheduler's calls (scheduler.h).
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include "core/status.h"
#include "sched/scheduler.h"
#include "sched/tls_files.h"

namespace ogai::sched {

// Listens on `address`: "unix:PATH" or "HOST:PORT" (port 0: a free one, in *bound_port), with
// TLS when `tls` is given (then a client needs the certificate's CA: `ogai --ca`).
Result<std::unique_ptr<grpc::Server>> StartService(Scheduler* s, const std::string& address, const TlsPem* tls,
                                                   std::unique_ptr<grpc::Service>* service, int* bound_port);

// ogai's Status as a gRPC status (the message is the one line the user sees).
grpc::Status ToGrpc(const Status& st);

}  // namespace ogai::sched
