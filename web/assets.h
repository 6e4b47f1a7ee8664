// uPlot (https://github.com/leeoniya/uPlot, MIT), embedded at build time from the npm cache
// by web/embed_assets.cmake; never committed. Empty when the cache did not hold it: then
// kChartsReason says why and the report says that charts are unavailable.
#pragma once

#include <string_view>

namespace ogai::web {

extern const char* const kUplotVersion;  // "1.6.32"; "" when not embedded
extern const char* const kChartsReason;  // "" when embedded
std::string_view UplotJs();
std::string_view UplotCss();
// web/report_page.js, the report's own script (embedded the same way).
std::string_view PageJs();
inline bool ChartsAvailable() { return kChartsReason[0] == '\0'; }

}  // namespace ogai::web
