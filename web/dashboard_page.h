// The dashboard's single page (served by `ogai-sched --http` at /, /jobs, /job/ID, /nodes,
// /models): HTML with its scripts and styles inline, carrying no data of its own; it asks the
// daemon's /api (docs/scheduler.md) with the token the user gives it.
#pragma once

#include <string>

namespace ogai::web {

std::string DashboardPage();

}  // namespace ogai::web
