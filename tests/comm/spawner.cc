#include "tests/comm/spawner.h"

#include <memory>
#include <sstream>
#include <thread>

#include "tests/util/child.h"

namespace ogai::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Waits for every child until the deadline; then kills the ones still running.
SpawnResult WaitAll(std::vector<std::unique_ptr<Child>>& children, std::chrono::seconds timeout) {
  SpawnResult res;
  res.ranks.resize(children.size());
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    bool running = false;
    for (auto& c : children) running = c->Running() || running;
    if (!running) break;
    if (Clock::now() >= deadline) {
      res.timed_out = true;
      for (auto& c : children) c->Kill();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (size_t i = 0; i < children.size(); ++i) {
    res.ranks[i].exit_code = children[i]->signalled() ? -1 : children[i]->exit_code();
    res.ranks[i].output = children[i]->output();
  }
  return res;
}

}  // namespace

std::string SpawnResult::Describe() const {
  std::ostringstream os;
  if (timed_out) os << "(timed out; ranks killed)\n";
  for (size_t i = 0; i < ranks.size(); ++i) {
    os << "---- rank " << i << " exit " << ranks[i].exit_code << "\n" << ranks[i].output;
  }
  return os.str();
}

bool SpawnResult::AllOk() const {
  if (timed_out) return false;
  for (const auto& r : ranks) {
    if (r.exit_code != 0) return false;
  }
  return true;
}

SpawnResult SpawnRanks(int n, const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       std::chrono::seconds timeout) {
  std::vector<std::unique_ptr<Child>> children;
  for (int i = 0; i < n; ++i) {
    Child::Options o;
    o.env = env;
    o.env.push_back("OGAI_TEST_RANK=" + std::to_string(i));
    o.env.push_back("OGAI_TEST_WORLD=" + std::to_string(n));
    children.push_back(std::make_unique<Child>(argv, o));
  }
  return WaitAll(children, timeout);
}

SpawnResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       std::chrono::seconds timeout) {
  std::vector<std::unique_ptr<Child>> children;
  children.push_back(std::make_unique<Child>(argv, Child::Options{env}));
  return WaitAll(children, timeout);
}

}  // namespace ogai::testing
