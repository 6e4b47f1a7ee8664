// A placeholder until the dashboard's pages are built: it says so, and names the API that
// already answers (docs/scheduler.md, "The dashboard's HTTP API").
#include "web/dashboard_page.h"

namespace ogai::web {

std::string DashboardPage() {
  return R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ogai dashboard</title>
<style>body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; }</style></head>
<body><h1>ogai dashboard</h1>
<p>The dashboard's pages are not built yet. The daemon's JSON API answers under <code>/api/</code>
(<code>/api/jobs</code>, <code>/api/jobs/ID</code>, <code>/api/jobs/ID/metrics</code>, <code>/api/nodes</code>,
<code>/api/quota</code>, <code>/api/models</code>), with the header
<code>Authorization: Bearer TOKEN</code>; docs/scheduler.md describes it.</p>
</body></html>
)";
}

}  // namespace ogai::web
