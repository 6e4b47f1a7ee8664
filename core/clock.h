// The project's one clock: every duration, deadline and timestamp goes through these two
// (and CPU time through ThreadCpuSeconds).
#pragma once

namespace ogai {

// Seconds on the monotonic clock (steady_clock): for durations and deadlines. The epoch is
// arbitrary, so only differences mean anything.
double Now();

// Milliseconds since the Unix epoch (system_clock): for timestamps written to files or
// compared across processes and hosts. Can jump when the wall clock is set.
double UnixMs();

// CPU seconds the calling thread has used (user + system; CLOCK_THREAD_CPUTIME_ID).
double ThreadCpuSeconds();

}  // namespace ogai
