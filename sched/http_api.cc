#include "sched/http_api.h"

#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "ckpt/format.h"
#include "sched/runner.h"

namespace ogai::sched {

namespace {

using httplib::Request;
using httplib::Response;
using nlohmann::json;
using Fn = std::function<void(const Caller&, const Request&, Response&)>;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// An API message as JSON with its .proto field names and every field, defaults included
// (proto3's JSON mapping: int64 fields are strings).
std::string ProtoJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(m, &out, o).ok()) return "{}";
  return out;
}

// The caller of a request: its `Authorization: Bearer TOKEN` checked by the Scheduler, the one
// check the gRPC service uses too.
Result<Caller> Authenticate(Scheduler* s, const Request& req) {
  const std::string h = req.get_header_value("Authorization");
  if (h.empty()) {
    return PermissionDenied(
        "no token: send the header `Authorization: Bearer TOKEN` with your tenant's token or the admin token");
  }
  if (h.size() < 8 || ::strncasecmp(h.c_str(), "Bearer ", 7) != 0) {
    return PermissionDenied("the Authorization header must be `Bearer TOKEN`");
  }
  size_t b = 7;
  while (b < h.size() && h[b] == ' ') ++b;
  return s->Authenticate(h.substr(b));
}

httplib::Server::Handler Authed(Scheduler* s, Fn f) {
  return [s, f = std::move(f)](const Request& req, Response& res) {
    auto c = Authenticate(s, req);
    if (!c.ok()) {
      res.set_header("WWW-Authenticate", "Bearer");
      SendError(res, 401, c.status().message());
      return;
    }
    f(*c, req, res);
  };
}

// A Result of the Scheduler as the reply: its message as JSON, or its error.
template <typename T>
void Reply(Response& res, const Result<T>& r) {
  if (!r.ok()) return SendError(res, HttpStatusOf(r.status()), r.status().message());
  SendJson(res, ProtoJson(*r));
}

int64_t JobId(const Request& req) { return std::strtoll(req.matches[1].str().c_str(), nullptr, 10); }

// A query parameter as an integer: `def` when absent, false when it is not one.
bool IntParam(const Request& req, const char* name, int64_t def, int64_t* out) {
  *out = def;
  if (!req.has_param(name)) return true;
  const std::string v = req.get_param_value(name);
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0) return false;
  *out = x;
  return true;
}

// The length of `s` without a UTF-8 sequence cut at its end (a log chunk ends at 64 KiB).
size_t WholeUtf8(const std::string& s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return len > back ? n - back : n;
  }
  return n;
}

void JobDetail(const ApiContext& ctx, const Caller& c, const Request& req, Response& res) {
  auto info = ctx.scheduler->Show(c, JobId(req));
  if (!info.ok()) return SendError(res, HttpStatusOf(info.status()), info.status().message());
  json j = json::parse(ProtoJson(*info), nullptr, false);
  json cks = json::array();
  auto list = ckpt::ListCheckpoints(info->dir() + "/ckpt");
  if (list.ok()) {
    for (const auto& e : *list)
      if (e.committed) cks.push_back({{"step", e.step}, {"path", e.path}});
  }
  j["checkpoints"] = std::move(cks);
  j["metrics_file"] = info->attempt() > 0 ? Rank0MetricsFile(info->dir(), info->attempt()) : "";
  json files = json::array();
  for (int a = 1; a <= info->attempt(); ++a) files.push_back(Rank0MetricsFile(info->dir(), a));
  j["metrics_files"] = std::move(files);
  SendJson(res, Dump(j));
}

void JobLog(const ApiContext& ctx, const Caller& c, const Request& req, Response& res) {
  int64_t offset = 0;
  if (!IntParam(req, "offset", 0, &offset) || offset < 0) {
    return SendError(res, 400, "offset must be a byte offset (0 or more), as the last reply's \"offset\" gives");
  }
  auto r = ctx.scheduler->Logs(c, JobId(req), offset);
  if (!r.ok()) return SendError(res, HttpStatusOf(r.status()), r.status().message());
  std::string text = r->data();
  if (!r->done()) text.resize(WholeUtf8(text));  // the rest of a cut character comes next time
  json j = {{"offset", offset + static_cast<int64_t>(text.size())}, {"text", text}, {"eof", r->done()}};
  SendJson(res, Dump(j));
}

// Whether an If-None-Match header value names `etag`: "*", or a comma-separated list of
// entity tags compared weakly (a "W/" prefix ignored), as RFC 9110 13.1.2 says.
bool NoneMatchHas(const std::string& header, const std::string& etag) {
  size_t b = 0;
  while (b < header.size()) {
    size_t e = header.find(',', b);
    if (e == std::string::npos) e = header.size();
    std::string tag = header.substr(b, e - b);
    tag.erase(0, tag.find_first_not_of(" \t"));
    tag.erase(tag.find_last_not_of(" \t") + 1);
    if (tag.rfind("W/", 0) == 0) tag.erase(0, 2);
    if (tag == "*" || tag == etag) return true;
    b = e + 1;
  }
  return false;
}

void JobMetrics(const ApiContext& ctx, const Caller& c, const Request& req, Response& res) {
  int64_t points = 1000;
  if (!IntParam(req, "points", 1000, &points)) return SendError(res, 400, "points must be a number (10 to 5000)");
  points = std::clamp<int64_t>(points, 10, 5000);
  // Show checks that the caller may see the job (no events: a poll runs no database query);
  // the file is read without the scheduler's lock.
  auto info = ctx.scheduler->Show(c, JobId(req), /*with_events=*/false);
  if (!info.ok()) return SendError(res, HttpStatusOf(info.status()), info.status().message());
  JobState state = JobState::kPending;
  ParseJobState(info->state(), &state);
  const bool done = IsFinal(state);
  std::vector<std::string> files;
  for (int a = 1; a <= info->attempt(); ++a) files.push_back(Rank0MetricsFile(info->dir(), a));
  const auto answer = ctx.metrics->Series(files, static_cast<size_t>(points), done);
  res.set_header("ETag", answer->etag);
  // The client holds this very answer: 304 and no body (cpp-httplib adds Content-Length: 0).
  if (NoneMatchHas(req.get_header_value("If-None-Match"), answer->etag)) {
    res.status = 304;
    res.set_header("Cache-Control", "no-store");
    return;
  }
  SendJson(res, answer->body);
}

}  // namespace

int HttpStatusOf(const Status& st) {
  switch (st.code()) {
    case Code::kOk: return 200;
    case Code::kNotFound: return 404;
    case Code::kPermissionDenied: return 403;
    case Code::kInvalidArgument: return 400;
    default: return 500;
  }
}

void SendError(Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(Dump(json{{"error", message}}), "application/json");
}

void SendJson(Response& res, const std::string& body) {
  res.status = 200;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body, "application/json");
}

void AddApiRoutes(httplib::Server* server, const ApiContext& ctx) {
  Scheduler* s = ctx.scheduler;
  httplib::Server& sv = *server;
  sv.Get("/api/whoami", Authed(s, [](const Caller& c, const Request&, Response& res) {
           SendJson(res, Dump(json{{"tenant", c.tenant}, {"admin", c.admin}}));
         }));
  sv.Get("/api/jobs", Authed(s, [s](const Caller& c, const Request& req, Response& res) {
           const std::string all = req.get_param_value("all");
           Reply(res, s->Jobs(c, all == "1" || all == "true"));
         }));
  sv.Get(R"(/api/jobs/(\d{1,18}))",
         Authed(s, [ctx](const Caller& c, const Request& req, Response& res) { JobDetail(ctx, c, req, res); }));
  sv.Post(R"(/api/jobs/(\d{1,18})/cancel)",
          Authed(s, [s](const Caller& c, const Request& req, Response& res) { Reply(res, s->Cancel(c, JobId(req))); }));
  sv.Post(R"(/api/jobs/(\d{1,18})/hold)", Authed(s, [s](const Caller& c, const Request& req, Response& res) {
            Reply(res, s->Hold(c, JobId(req), true));
          }));
  sv.Post(R"(/api/jobs/(\d{1,18})/release)", Authed(s, [s](const Caller& c, const Request& req, Response& res) {
            auto r = s->Hold(c, JobId(req), false);
            s->Wake();
            Reply(res, r);
          }));
  // Changes are POST only: a link or an image cannot cancel a job.
  sv.Get(R"(/api/jobs/(\d{1,18})/(cancel|hold|release))", [](const Request& req, Response& res) {
    res.set_header("Allow", "POST");
    SendError(res, 405, req.matches[2].str() + " changes the job: send it as POST");
  });
  sv.Get(R"(/api/jobs/(\d{1,18})/log)",
         Authed(s, [ctx](const Caller& c, const Request& req, Response& res) { JobLog(ctx, c, req, res); }));
  sv.Get(R"(/api/jobs/(\d{1,18})/metrics)",
         Authed(s, [ctx](const Caller& c, const Request& req, Response& res) { JobMetrics(ctx, c, req, res); }));
  sv.Get("/api/nodes",
         Authed(s, [s](const Caller& c, const Request&, Response& res) { SendJson(res, ProtoJson(s->Nodes(c))); }));
  sv.Get("/api/quota",
         Authed(s, [s](const Caller& c, const Request&, Response& res) { SendJson(res, ProtoJson(s->Quota(c))); }));
  sv.Get("/api/models", Authed(s, [ctx](const Caller&, const Request&, Response& res) {
           if (ctx.registry.empty()) return SendError(res, 404, "no registry: start ogai-sched with --registry DIR");
           auto r = ModelsJson(ctx.registry);
           if (!r.ok()) return SendError(res, HttpStatusOf(r.status()), r.status().message());
           SendJson(res, *r);
         }));
}

}  // namespace ogai::sched
