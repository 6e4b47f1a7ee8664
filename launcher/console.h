// ogai-run's user-facing output: every line meant for the person running the job goes
// through here, on one of two streams, one write(2) per line or block (so lines of ranks,
// agents and the launcher never interleave mid-line).
//
//   Error / Warn   "[ogai-run] error: text"   a problem ogai-run reports (core/log.h's form)
//   Notice         "ogai-run: text"           a job-level event: interrupt, restart, shrink
//   Block          text as given              a preformatted block (the root cause)
//   Relay          text as given              a finished output line of a rank or an agent,
//                                             on the stream it came from
//
// Diagnostics that only -v / -vv show stay OGAI_LOG (core/log.h); they are not user output.
//
// With MergeRankWarnings on (ogai-run's launcher process), Relay holds ranks' warnings for a
// moment and prints identical ones once, naming the ranks (launcher/warning_merge.h);
// FlushWarnings prints what is due, and every other output flushes them all first, so a
// warning never appears after the failure it led to.
#pragma once

#include <string>
#include <string_view>

namespace ogai::launch::console {

void Error(const std::string& text);
void Warn(const std::string& text);
void Notice(const std::string& text);
void Block(std::string_view text);
void Relay(std::string_view text, bool is_stderr);
void MergeRankWarnings(bool on);
void FlushWarnings(bool all);

}  // namespace ogai::launch::console
