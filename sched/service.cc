#include "sched/service.h"

#include <unistd.h>

#include "proto/sched.grpc.pb.h"

namespace ogai::sched {

grpc::Status ToGrpc(const Status& st) {
  if (st.ok()) return grpc::Status::OK;
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (st.code()) {
    case Code::kInvalidArgument: code = grpc::StatusCode::INVALID_ARGUMENT; break;
    case Code::kNotFound: code = grpc::StatusCode::NOT_FOUND; break;
    case Code::kPermissionDenied: code = grpc::StatusCode::PERMISSION_DENIED; break;
    case Code::kUnavailable: code = grpc::StatusCode::UNAVAILABLE; break;
    default: break;
  }
  return grpc::Status(code, st.message());
}

namespace {

class Service final : public pb::Scheduler::Service {
 public:
  explicit Service(Scheduler* s) : s_(s) {}

  grpc::Status Submit(grpc::ServerContext* ctx, const pb::SubmitRequest* r, pb::SubmitReply* out) override {
    return Call(ctx, [&](const Caller& c) -> Status {
      OGAI_ASSIGN_OR_RETURN(int64_t id, s_->Submit(c, *r));
      out->set_id(id);
      return Status::Ok();
    });
  }
  grpc::Status Jobs(grpc::ServerContext* ctx, const pb::JobsRequest* r, pb::JobsReply* out) override {
    return Call(ctx, [&](const Caller& c) { return Assign(s_->Jobs(c, r->all()), out); });
  }
  grpc::Status Show(grpc::ServerContext* ctx, const pb::JobRef* r, pb::JobInfo* out) override {
    return Call(ctx, [&](const Caller& c) { return Assign(s_->Show(c, r->id()), out); });
  }
  grpc::Status Cancel(grpc::ServerContext* ctx, const pb::JobRef* r, pb::JobInfo* out) override {
    return Call(ctx, [&](const Caller& c) { return Assign(s_->Cancel(c, r->id()), out); });
  }
  grpc::Status Hold(grpc::ServerContext* ctx, const pb::JobRef* r, pb::JobInfo* out) override {
    return Call(ctx, [&](const Caller& c) { return Assign(s_->Hold(c, r->id(), true), out); });
  }
  grpc::Status Release(grpc::ServerContext* ctx, const pb::JobRef* r, pb::JobInfo* out) override {
    return Call(ctx, [&](const Caller& c) {
      Status st = Assign(s_->Hold(c, r->id(), false), out);
      s_->Wake();
      return st;
    });
  }
  grpc::Status Logs(grpc::ServerContext* ctx, const pb::LogsRequest* r, pb::LogsReply* out) override {
    return Call(ctx, [&](const Caller& c) { return Assign(s_->Logs(c, r->id(), r->offset()), out); });
  }
  grpc::Status Nodes(grpc::ServerContext* ctx, const pb::Empty*, pb::NodesReply* out) override {
    return Call(ctx, [&](const Caller& c) {
      *out = s_->Nodes(c);
      return Status::Ok();
    });
  }
  grpc::Status Quota(grpc::ServerContext* ctx, const pb::Empty*, pb::QuotaReply* out) override {
    return Call(ctx, [&](const Caller& c) {
      *out = s_->Quota(c);
      return Status::Ok();
    });
  }

 private:
  template <typename T>
  static Status Assign(Result<T> r, T* out) {
    if (!r.ok()) return r.status();
    *out = std::move(r).value();
    return Status::Ok();
  }
  template <typename F>
  grpc::Status Call(grpc::ServerContext* ctx, F&& f) {
    std::string token;
    auto it = ctx->client_metadata().find("authorization");
    if (it != ctx->client_metadata().end()) token.assign(it->second.data(), it->second.size());
    auto caller = s_->Authenticate(token);
    if (!caller.ok()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, caller.status().message());
    return ToGrpc(f(*caller));
  }
  Scheduler* s_;
};

}  // namespace

Result<std::unique_ptr<grpc::Server>> StartService(Scheduler* s, const std::string& address, const TlsPem* tls,
                                                   std::unique_ptr<grpc::Service>* service, int* bound_port) {
  const bool unix_socket = address.rfind("unix:", 0) == 0;
  if (unix_socket) ::unlink(address.substr(5).c_str());  // a previous daemon's socket
  *service = std::make_unique<Service>(s);
  grpc::ServerBuilder b;
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (tls != nullptr) {
    grpc::SslServerCredentialsOptions o;  // no client certificate asked for: the token says who
    o.pem_key_cert_pairs.push_back({tls->key, tls->cert});
    creds = grpc::SslServerCredentials(o);
  }
  int port = 0;
  b.AddListeningPort(address, creds, unix_socket ? nullptr : &port);
  b.RegisterService(service->get());
  std::unique_ptr<grpc::Server> server = b.BuildAndStart();
  if (server == nullptr) {
    return Unavailable("cannot listen on " + address + " (in use, or not a valid unix:PATH or HOST:PORT" +
                       (tls ? ", or --listen-cert/--listen-key are not a certificate and its key" : "") + ")");
  }
  if (bound_port != nullptr) *bound_port = port;
  return server;
}

}  // namespace ogai::sched
