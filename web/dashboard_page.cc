// The dashboard's page: web/dashboard.html with uPlot's stylesheet and web/dashboard.css, then
// uPlot, web/charts.js and web/dashboard.js inlined (all embedded at build time by
// web/embed_assets.cmake), so the page loads nothing from the network. Without uPlot the page
// still works and says why charts are unavailable.
#include "web/dashboard_page.h"

#include <string_view>

#include "web/assets.h"
#include "web/report_html.h"

namespace ogai::web {
namespace {

void Replace(std::string* s, std::string_view marker, const std::string& with) {
  const size_t p = s->find(marker);
  if (p != std::string::npos) s->replace(p, marker.size(), with);
}

std::string Build() {
  std::string page(WebFile("dashboard.html"));
  std::string styles, scripts;
  if (ChartsAvailable()) styles += "<style>" + std::string(UplotCss()) + "</style>\n";
  styles += "<style>" + std::string(WebFile("dashboard.css")) + "</style>";
  if (ChartsAvailable()) {
    scripts +=
        "<script>" + std::string(UplotJs()) + "</script>\n<script>" + std::string(WebFile("charts.js")) + "</script>\n";
  }
  scripts += "<script>" + std::string(WebFile("dashboard.js")) + "</script>";
  Replace(&page, "<!--OGAI:STYLES-->", styles);
  Replace(&page, "<!--OGAI:CHARTS_REASON-->", HtmlEscape(kChartsReason));
  Replace(&page, "<!--OGAI:SCRIPTS-->", scripts);
  return page;
}

}  // namespace

std::string DashboardPage() {
  static const std::string page = Build();
  return page;
}

}  // namespace ogai::web
