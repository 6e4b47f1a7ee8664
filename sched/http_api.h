// The dashboard's JSON API under /api (docs/scheduler.md, "The dashboard's HTTP API"): every
// request authenticated by `Authorization: Bearer TOKEN` with the Scheduler's own check, then
// answered by the Scheduler's calls (queries.cc), as JSON. Errors are {"error": "one line"}
// with the HTTP status of ogai's Status code.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>

#include "core/status.h"
#include "sched/http_metrics.h"
#include "sched/scheduler.h"

namespace ogai::sched {

struct ApiContext {
  Scheduler* scheduler = nullptr;
  std::string state_dir;
  std::string registry;  // "" : /api/models says how to give one
  std::shared_ptr<MetricsCache> metrics;
};

// Registers every /api route on `server`.
void AddApiRoutes(httplib::Server* server, const ApiContext& ctx);

// The HTTP status for an ogai Status code: NotFound 404, PermissionDenied 403, InvalidArgument
// 400, others 500.
int HttpStatusOf(const Status& st);
// {"error": message} with `status`, not cached.
void SendError(httplib::Response& res, int status, const std::string& message);
// `body` (JSON text) with status 200, not cached.
void SendJson(httplib::Response& res, const std::string& body);

// The registry's models as JSON (http_models.cc): each with its versions, aliases, lineage
// and evaluations; read only.
Result<std::string> ModelsJson(const std::string& registry_root);

}  // namespace ogai::sched
