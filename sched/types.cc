#include "sched/types.h"

#include <cstdlib>

namespace ogai::sched {

namespace {
constexpr const char* kNames[] = {"PENDING", "RUNNING", "PREEMPTING", "COMPLETED", "FAILED", "CANCELLED"};
}

const char* JobStateName(JobState s) { return kNames[static_cast<int>(s)]; }

bool ParseJobState(const std::string& name, JobState* out) {
  for (int i = 0; i < 6; ++i) {
    if (name == kNames[i]) {
      *out = static_cast<JobState>(i);
      return true;
    }
  }
  return false;
}

std::string HostsText(const std::vector<Placement>& hosts) {
  std::string s;
  for (const auto& p : hosts) {
    if (!s.empty()) s += ",";
    s += p.node + ":" + std::to_string(p.slots);
  }
  return s;
}

std::vector<Placement> ParseHostsText(const std::string& text) {
  std::vector<Placement> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t comma = text.find(',', i);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(i, comma - i);
    const size_t colon = item.rfind(':');
    if (colon != std::string::npos) out.push_back({item.substr(0, colon), std::atoi(item.c_str() + colon + 1)});
    i = comma + 1;
  }
  return out;
}

}  // namespace ogai::sched
