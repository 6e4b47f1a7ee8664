// What the web pages embed at build time (web/embed_assets.cmake): uPlot
// (https://github.com/leeoniya/uPlot, MIT) from web/node_modules, where scripts/build.sh
// installs it with npm ci --offline (web/package-lock.json pins it; never committed), and the
// pages' own files from web/. uPlot is empty when it was missing: then kChartsReason says why
// and the pages say that charts are unavailable.
#pragma once

#include <string_view>

namespace ogai::web {

extern const char* const kUplotVersion;  // "1.6.32"; "" when not embedded
extern const char* const kChartsReason;  // "" when embedded
std::string_view UplotJs();
std::string_view UplotCss();
// A page file of web/ by its name ("charts.js", "report_page.js", "dashboard.html", ...);
// empty when it is not one of the embedded files (web/CMakeLists.txt lists them).
std::string_view WebFile(std::string_view name);
inline bool ChartsAvailable() { return kChartsReason[0] == '\0'; }

}  // namespace ogai::web
