// /api/jobs/ID/metrics beyond its series' shape (http_test.cc has that): validation bits per
// byte, from the trainer's eval records, is a series of its own, null where a step has no eval
// or the eval did not measure bytes.
#include "sched/http_metrics.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/util/job.h"

namespace ogai::sched_testing {
namespace {

using nlohmann::json;

// Steps 1-6 with evals as train/metrics.cc writes them: at 0 (before training) and 3 without
// bytes measured (null), at 2 and 6 with bits per byte.
constexpr const char* kEvals =
    R"({"start": {"rank": 0, "restart": 0, "resume_step": 0, "started_unix_ms": 1000}}
{"eval": {"step": 0, "val_loss": 5.6, "tokens": 256, "bytes": 0, "bits_per_byte": null, "ms": 2, "restart": 0, "unix_ms": 1100}}
{"step": 1, "loss": 5.0, "ms": 10}
{"step": 2, "loss": 4.5, "ms": 10}
{"eval": {"step": 2, "val_loss": 4.8, "tokens": 256, "bytes": 1000, "bits_per_byte": 1.77, "ms": 2, "restart": 0, "unix_ms": 1200}}
{"step": 3, "loss": 4.2, "ms": 10}
{"eval": {"step": 3, "val_loss": 4.6, "tokens": 256, "bytes": 0, "bits_per_byte": null, "ms": 2, "restart": 0, "unix_ms": 1300}}
{"step": 4, "loss": 4.0, "ms": 10}
{"step": 5, "loss": 3.9, "ms": 10}
{"step": 6, "loss": 3.8, "ms": 10}
{"eval": {"step": 6, "val_loss": 4.2, "tokens": 256, "bytes": 1000, "bits_per_byte": 1.55, "ms": 2, "restart": 0, "unix_ms": 1400}}
)";

TEST(MetricsSeries, BitsPerByteIsASeriesNullWhereNoEvalMeasuredIt) {
  ogai::testing::TempDir dir("sched_metrics_bpb");
  const std::string path = dir / "metrics.a1.rank0.jsonl";
  ogai::testing::WriteFile(path, kEvals);
  sched::MetricsCache cache;
  const json m = json::parse(cache.Series({path}, 1000, false));
  EXPECT_EQ(m["series"]["step"], json({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(m["series"]["val_loss"], json({nullptr, 4.8, 4.6, nullptr, nullptr, 4.2}));
  EXPECT_EQ(m["series"]["val_bits_per_byte"], json({nullptr, 1.77, nullptr, nullptr, nullptr, 1.55}));
  // Downsampled to fewer points than steps, the steps that have an eval are kept.
  const json few = json::parse(cache.Series({path}, 10, false));
  EXPECT_EQ(few["series"]["val_bits_per_byte"].size(), few["series"]["step"].size());
  // A file without eval records: the series is there, all null.
  ogai::testing::WriteFile(dir / "plain.jsonl", "{\"step\": 1, \"loss\": 5.0, \"ms\": 10}\n");
  const json plain = json::parse(cache.Series({dir / "plain.jsonl"}, 1000, false));
  EXPECT_EQ(plain["series"]["val_bits_per_byte"], json::array({nullptr}));
}

}  // namespace
}  // namespace ogai::sched_testing
