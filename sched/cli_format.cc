#include "sched/cli_format.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace ogai::sched {

namespace {

// Left-aligned columns, each as wide as its widest cell.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& r : rows) {
    if (w.size() < r.size()) w.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string Elapsed(double seconds) {
  if (seconds < 0) seconds = 0;
  const long s = static_cast<long>(seconds);
  char b[32];
  std::snprintf(b, sizeof(b), "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return b;
}

}  // namespace

std::string FormatJobs(const pb::JobsReply& r, std::time_t now) {
  std::vector<std::vector<std::string>> rows = {
      {"JOBID", "TENANT", "NAME", "STATE", "RANKS", "PRIO", "TIME", "STEP", "REASON/NODES"}};
  for (const auto& j : r.jobs()) {
    const bool running = j.state() == "RUNNING" || j.state() == "PREEMPTING";
    const double t = running                                  ? static_cast<double>(now) - j.start_unix()
                     : j.end_unix() > 0 && j.start_unix() > 0 ? j.end_unix() - j.start_unix()
                                                              : 0;
    rows.push_back({std::to_string(j.id()), j.tenant(), j.name(), j.state(), std::to_string(j.ranks()),
                    std::to_string(j.priority()), Elapsed(t),
                    std::to_string(j.step()) + "/" + std::to_string(j.total_steps()),
                    running ? j.hosts() : "(" + j.reason() + ")"});
  }
  return Table(rows);
}

std::string FormatJob(const pb::JobInfo& j) {
  char b[64];
  std::string s;
  s += "job " + std::to_string(j.id()) + " (" + j.name() + ")\n";
  s += "  tenant:     " + j.tenant() + "\n";
  s +=
      "  state:      " + j.state() + (j.held() ? " (held)" : "") + (j.reason().empty() ? "" : ", " + j.reason()) + "\n";
  s += "  ranks:      " + std::to_string(j.ranks()) + " on " + (j.hosts().empty() ? "-" : j.hosts()) + "\n";
  s += "  priority:   " + std::to_string(j.priority()) + "\n";
  std::snprintf(b, sizeof(b), "%.0f s", j.min_runtime_s());
  s += "  min runtime: " + std::string(b) + "\n";
  s += "  progress:   step " + std::to_string(j.step()) + " of " + std::to_string(j.total_steps()) +
       ", last checkpoint at step " + std::to_string(j.committed_step()) + "\n";
  s += "  attempts:   " + std::to_string(j.attempt()) + " (requeues after failures: " + std::to_string(j.requeues()) +
       ")\n";
  if (j.exit_code() >= 0) s += "  exit code:  " + std::to_string(j.exit_code()) + "\n";
  s += "  folder:     " + j.dir() + "\n";
  if (!j.events().empty()) s += "  history:\n";
  for (const auto& e : j.events()) s += "    " + e + "\n";
  return s;
}

std::string FormatNodes(const pb::NodesReply& r) {
  std::vector<std::vector<std::string>> rows = {{"NODE", "SLOTS", "USED", "STATE", "JOBS/REASON"}};
  for (const auto& n : r.nodes()) {
    rows.push_back({n.name(), std::to_string(n.slots()), std::to_string(n.used()), n.up() ? "up" : "down",
                    n.up() ? n.jobs() : n.reason()});
  }
  return Table(rows);
}

std::string FormatQuota(const pb::QuotaReply& r) {
  std::vector<std::vector<std::string>> rows = {{"TENANT", "QUOTA", "BORROW", "USED", "PENDING", "USAGE(rank-s)"}};
  for (const auto& t : r.tenants()) {
    char u[32];
    std::snprintf(u, sizeof(u), "%.0f", t.usage());
    rows.push_back({t.name(), std::to_string(t.quota()), std::to_string(t.borrow_limit()), std::to_string(t.used()),
                    std::to_string(t.pending()), u});
  }
  return Table(rows);
}

}  // namespace ogai::sched
