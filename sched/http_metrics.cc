#include "sched/http_metrics.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "web/downsample.h"

namespace ogai::sched {
namespace {

using nlohmann::json;

json Val(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// The indices of run.steps to keep: every one when they fit, else the union of each series'
// min/max buckets (and the steps that have a validation loss), with buckets shrunk until the
// union fits `points`.
std::vector<size_t> KeepIndices(const web::RunData& run, const std::vector<std::vector<double>>& ys, size_t points) {
  const size_t n = run.steps.size();
  std::vector<size_t> all;
  if (n <= points) {
    all.resize(n);
    for (size_t i = 0; i < n; ++i) all[i] = i;
    return all;
  }
  std::vector<double> vy, vb;  // validation loss and bits per byte
  std::vector<size_t> vidx;    // index in run.steps of each validation point
  for (const auto& v : run.val) {
    auto at = std::lower_bound(run.steps.begin(), run.steps.end(), v.step,
                               [](const web::StepPoint& p, int64_t step) { return p.step < step; });
    if (at == run.steps.end() || at->step != v.step) continue;
    vidx.push_back(static_cast<size_t>(at - run.steps.begin()));
    vy.push_back(v.loss);
    vb.push_back(v.bits_per_byte);
  }
  size_t buckets = points / 2 > 1 ? points / 2 - 1 : 1;
  for (int round = 0; round < 8; ++round) {
    std::vector<std::vector<size_t>> lists;
    for (const auto& y : ys) lists.push_back(web::DownsampleMinMax(y, buckets));
    for (const auto* y : {&vy, &vb}) {
      std::vector<size_t> vk;
      for (size_t i : web::DownsampleMinMax(*y, buckets)) vk.push_back(vidx[i]);
      lists.push_back(std::move(vk));
    }
    all = web::MergeIndices(lists);
    if (all.size() <= points || buckets == 1) break;
    buckets = std::max<size_t>(1, buckets * points / all.size() * 9 / 10);
  }
  if (all.size() > points) all.resize(points);  // only for absurdly small `points`; they are clamped to >= 10
  return all;
}

// Per step the later run's line (and validation loss); everything else appended.
void MergeInto(web::RunData* into, const web::RunData& next) {
  auto merge = [](auto& a, const auto& b) {
    using T = typename std::decay_t<decltype(a)>::value_type;
    std::decay_t<decltype(a)> out;
    out.reserve(a.size() + b.size());
    size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
      if (j == b.size() || (i < a.size() && a[i].step < b[j].step)) {
        out.push_back(a[i++]);
      } else {
        if (i < a.size() && a[i].step == b[j].step) ++i;
        out.push_back(T(b[j++]));
      }
    }
    a = std::move(out);
  };
  merge(into->steps, next.steps);
  merge(into->val, next.val);
  into->lines.insert(into->lines.end(), next.lines.begin(), next.lines.end());
  into->checkpoints.insert(into->checkpoints.end(), next.checkpoints.begin(), next.checkpoints.end());
  into->finished = next.finished;
  if (next.train_steps > 0) into->train_steps = next.train_steps;
  if (next.tokens_per_step > 0) into->tokens_per_step = next.tokens_per_step;
  into->skipped_lines += next.skipped_lines;
  into->path = next.path;
}

}  // namespace

std::string MetricsSeriesJson(const std::vector<const web::RunData*>& attempts, size_t points, bool done) {
  static const web::RunData kEmpty;
  web::RunData merged;
  const web::RunData* runp = attempts.empty() ? &kEmpty : attempts[0];
  if (attempts.size() > 1) {
    merged = *attempts[0];
    for (size_t a = 1; a < attempts.size(); ++a) MergeInto(&merged, *attempts[a]);
    runp = &merged;
  }
  const web::RunData& run = *runp;
  const double tok = static_cast<double>(run.tokens_per_step);
  const std::vector<std::pair<const char*, std::function<double(const web::StepPoint&)>>> series = {
      {"loss", [](const web::StepPoint& s) { return s.loss; }},
      {"tokens_per_s", [tok](const web::StepPoint& s) { return tok > 0 && s.ms > 0 ? tok / (s.ms / 1000.0) : NAN; }},
      {"step_ms", [](const web::StepPoint& s) { return s.ms; }},
      {"lr", [](const web::StepPoint& s) { return s.lr; }},
      {"grad_norm", [](const web::StepPoint& s) { return s.grad_norm; }},
      {"dp_exposed_ms", [](const web::StepPoint& s) { return s.dp_exposed_ms; }},
  };
  std::vector<std::vector<double>> ys(series.size());
  for (size_t k = 0; k < series.size(); ++k) {
    ys[k].reserve(run.steps.size());
    for (const auto& s : run.steps) ys[k].push_back(series[k].second(s));
  }
  const std::vector<size_t> keep = KeepIndices(run, ys, points);
  json out;
  out["steps"] = run.steps.size();
  json& ser = out["series"];
  json step = json::array(), val = json::array(), bpb = json::array();
  size_t v = 0;
  for (size_t i : keep) {
    const int64_t st = run.steps[i].step;
    step.push_back(st);
    while (v < run.val.size() && run.val[v].step < st) ++v;
    const bool has_val = v < run.val.size() && run.val[v].step == st;
    val.push_back(has_val ? Val(run.val[v].loss) : json(nullptr));
    bpb.push_back(has_val ? Val(run.val[v].bits_per_byte) : json(nullptr));
  }
  ser["step"] = std::move(step);
  ser["val_loss"] = std::move(val);
  ser["val_bits_per_byte"] = std::move(bpb);
  for (size_t k = 0; k < series.size(); ++k) {
    json y = json::array();
    for (size_t i : keep) y.push_back(Val(ys[k][i]));
    ser[series[k].first] = std::move(y);
  }
  json marks = json::array();
  for (const auto& c : run.checkpoints) {
    marks.push_back({{"kind", "checkpoint"}, {"step", c.step}, {"t", c.unix_ms / 1000.0}});
  }
  // ogai-run's restarts within an attempt; the scheduler's next attempts (after a preemption
  // or a requeue) start in a file of their own.
  for (size_t a = 0; a < attempts.size(); ++a) {
    for (const auto& r : attempts[a]->rounds) {
      if (r.restart > 0) {
        marks.push_back({{"kind", "restart"}, {"step", r.resume_step}, {"t", r.started_unix_ms / 1000.0}});
      } else if (a > 0) {
        marks.push_back(
            {{"kind", "attempt"}, {"attempt", a + 1}, {"step", r.resume_step}, {"t", r.started_unix_ms / 1000.0}});
      }
    }
  }
  out["marks"] = std::move(marks);
  out["done"] = done;
  out["finished"] = run.finished;
  out["train_steps"] = run.train_steps;
  out["lines"] = run.lines.size();
  out["skipped_lines"] = run.skipped_lines;
  out["file"] = run.path;
  out["attempts"] = attempts.size();
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::shared_ptr<MetricsCache::Entry> MetricsCache::Get(const std::string& path) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = entries_.find(path);
  if (it == entries_.end()) {
    if (entries_.size() >= max_files_) {  // forget the least recently used file
      auto old = std::min_element(entries_.begin(), entries_.end(),
                                  [](const auto& a, const auto& b) { return a.second->used < b.second->used; });
      entries_.erase(old);
    }
    it = entries_.emplace(path, std::make_shared<Entry>(path)).first;
  }
  it->second->used = ++clock_;
  return it->second;
}

std::shared_ptr<const MetricsAnswer> MetricsCache::Series(const std::vector<std::string>& paths, size_t points,
                                                          bool done) {
  std::vector<std::string> present;
  std::string key = std::to_string(points) + (done ? " done" : "");
  std::vector<std::pair<int64_t, int64_t>> stamps;
  for (const std::string& p : paths) {
    struct stat sb {};
    if (::stat(p.c_str(), &sb) != 0) continue;  // not written yet
    const int64_t mtime_ns = static_cast<int64_t>(sb.st_mtim.tv_sec) * 1000000000 + sb.st_mtim.tv_nsec;
    present.push_back(p);
    stamps.push_back({sb.st_size, mtime_ns});
    key += "\n" + p + " " + std::to_string(sb.st_size) + " " + std::to_string(mtime_ns);
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = answers_.find(key);
    if (it != answers_.end()) return it->second;
  }
  // Each file's entry, locked in the attempts' order (every request for a job takes them in
  // that order), brought up to date by reading what was appended.
  std::vector<std::shared_ptr<Entry>> entries;
  std::vector<std::unique_lock<std::mutex>> locks;
  std::vector<const web::RunData*> runs;
  for (size_t i = 0; i < present.size(); ++i) {
    entries.push_back(Get(present[i]));
    Entry& e = *entries.back();
    locks.emplace_back(e.mu);
    if (stamps[i].first != e.size || stamps[i].second != e.mtime_ns) {
      if (!e.follower.Update().ok()) continue;  // gone since the stat: left out
      e.size = stamps[i].first;
      e.mtime_ns = stamps[i].second;
    }
    runs.push_back(&e.follower.data());
  }
  auto out = std::make_shared<MetricsAnswer>();
  out->body = MetricsSeriesJson(runs, points, done);
  locks.clear();
  out->etag = "\"" + Sha256Hex(out->body).substr(0, 32) + "\"";
  std::lock_guard<std::mutex> lk(mu_);
  if (answers_.size() >= 4 * max_files_) answers_.clear();
  answers_[key] = out;
  return out;
}

}  // namespace ogai::sched
