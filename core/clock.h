// The project's one clock: every duration, deadline and timestamp goes through these two
// (and CPU time through ThreadCpuSeconds), and every timestamp shown to a person through
// FormatUtc.
#pragma once

#include <string>

namespace ogai {

// Seconds on the monotonic clock (steady_clock): for durations and deadlines. The epoch is
// arbitrary, so only differences mean anything.
double Now();

// Milliseconds since the Unix epoch (system_clock): for timestamps written to files or
// compared across processes and hosts. Can jump when the wall clock is set.
double UnixMs();

// A UnixMs() timestamp as people read it: "2026-12-03 05:58:15 UTC", with `millis` the
// milliseconds too ("...05:58:15.843 UTC"); "-" for 0 or less (not set).
std::string FormatUtc(double unix_ms, bool millis = false);

// CPU seconds the calling thread has used (user + system; CLOCK_THREAD_CPUTIME_ID).
double ThreadCpuSeconds();

}  // namespace ogai
