// Tests in tests/store wait on state they can observe (a waiter count, a client count), never
// on a sleep that guesses how long the other side takes.
#pragma once

#include <chrono>
#include <thread>

namespace ogai::store::testing {

// The bound for WaitUntil: far beyond anything a healthy run needs, so reaching it is a bug.
inline constexpr std::chrono::seconds kObserveLimit{30};

// Polls pred until it holds (true) or `limit` passes (false: the caller fails the test,
// saying what it was waiting for).
template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::steady_clock::duration limit = kObserveLimit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace ogai::store::testing
