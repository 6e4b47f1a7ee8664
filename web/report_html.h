// The HTML of ogai-report: one self-contained page (uPlot's script and stylesheet inlined,
// no network when viewed) with the run's curves, its rounds and checkpoints, the resolved
// config and the hardware. docs/dashboard.md describes what it shows.
#pragma once

#include <cstddef>
#include <string>

#include "web/metrics_reader.h"

namespace ogai::web {

struct ReportOptions {
  size_t buckets = 2000;   // per series: at most 2 x buckets + 2 points (web/downsample.h)
  double now_unix_ms = 0;  // when the report was made (the "last record ... ago" line)
};

std::string RenderReport(const RunData& run, const ReportOptions& opts);

// Text for HTML element content and attribute values.
std::string HtmlEscape(const std::string& s);

}  // namespace ogai::web
