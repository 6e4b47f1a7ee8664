// /api/jobs/ID/metrics: a job's metrics file as chart series, downsampled on the server
// (web/downsample.h, min/max per bucket as ogai-report does), from a cache that follows each
// file as it grows (web/metrics_reader.h's MetricsFollower): a poll of an unchanged file
// (same size and mtime) is answered from the cache, a grown one reads only the new bytes.
// Each answer carries an entity tag (a hash of its JSON) for the API's If-None-Match.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "web/metrics_reader.h"

namespace ogai::sched {

// The series JSON of a job's attempts (their rank-0 files' data, oldest first; per step the
// latest attempt's line counts) with at most `points` points (every step when it has no more):
// {"steps", "series": {"step", "loss", "val_loss", "val_bits_per_byte", "tokens_per_s", "step_ms",
// "lr", "grad_norm", "dp_exposed_ms"}, "marks", "done", ...}; docs/scheduler.md describes every key.
std::string MetricsSeriesJson(const std::vector<const web::RunData*>& attempts, size_t points, bool done);

// One answer: the series JSON and its entity tag, the first 128 bits of the JSON's SHA-256 in
// hex in double quotes, as the ETag header carries it. The same JSON has the same tag,
// across polls and daemon restarts.
struct MetricsAnswer {
  std::string body;
  std::string etag;
};

class MetricsCache {
 public:
  explicit MetricsCache(size_t max_files = 16) : max_files_(max_files) {}
  // The series of a job's attempts' metrics files, oldest first (those not written yet are
  // left out).
  std::shared_ptr<const MetricsAnswer> Series(const std::vector<std::string>& paths, size_t points, bool done);

 private:
  struct Entry {
    explicit Entry(const std::string& path) : follower(path) {}
    std::mutex mu;
    web::MetricsFollower follower;
    int64_t size = -1, mtime_ns = -1;
    uint64_t used = 0;
  };
  std::shared_ptr<Entry> Get(const std::string& path);
  size_t max_files_;
  std::mutex mu_;
  uint64_t clock_ = 0;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  // (files' sizes and mtimes, points, done) -> the answer
  std::map<std::string, std::shared_ptr<const MetricsAnswer>> answers_;
};

}  // namespace ogai::sched
