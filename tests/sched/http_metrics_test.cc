// /api/jobs/ID/metrics beyond its series' shape (http_test.cc has that):
//   * validation bits per byte, from the trainer's eval records, is a series of its own, null
//     where a step has no eval or the eval did not measure bytes;
//   * against a real ogai-sched and a real job, through cpp-httplib's client: every answer has
//     an ETag; a GET that sends it back in If-None-Match is 304 with an empty body while the
//     metrics file is unchanged, and 200 with a new tag once it has grown.
#include "sched/http_metrics.h"

#include <httplib.h>

#include <cmath>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/recovery/recovery_util.h"
#include "tests/sched/sched_util.h"

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
  const json m = json::parse(cache.Series({path}, 1000, false)->body);
  EXPECT_EQ(m["series"]["step"], json({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(m["series"]["val_loss"], json({nullptr, 4.8, 4.6, nullptr, nullptr, 4.2}));
  EXPECT_EQ(m["series"]["val_bits_per_byte"], json({nullptr, 1.77, nullptr, nullptr, nullptr, 1.55}));
  // Downsampled to fewer points than steps, the steps that have an eval are kept.
  const json few = json::parse(cache.Series({path}, 10, false)->body);
  EXPECT_EQ(few["series"]["val_bits_per_byte"].size(), few["series"]["step"].size());
  // A file without eval records: the series is there, all null.
  ogai::testing::WriteFile(dir / "plain.jsonl", "{\"step\": 1, \"loss\": 5.0, \"ms\": 10}\n");
  const json plain = json::parse(cache.Series({dir / "plain.jsonl"}, 1000, false)->body);
  EXPECT_EQ(plain["series"]["val_bits_per_byte"], json::array({nullptr}));
}

TEST(MetricsSeries, TheTagIsTheAnswersHash) {
  ogai::testing::TempDir dir("sched_metrics_tag");
  const std::string path = dir / "metrics.a1.rank0.jsonl";
  ogai::testing::WriteFile(path, kEvals);
  sched::MetricsCache cache, other;
  const auto a = cache.Series({path}, 1000, false);
  ASSERT_EQ(a->etag.size(), 34u) << a->etag;
  EXPECT_EQ(a->etag.front(), '"');
  EXPECT_EQ(a->etag.back(), '"');
  EXPECT_EQ(other.Series({path}, 1000, false)->etag, a->etag) << "the same answer, another cache (a restart)";
  EXPECT_NE(cache.Series({path}, 1000, true)->etag, a->etag) << "done changes the answer";
  EXPECT_NE(cache.Series({path}, 3, false)->etag, a->etag) << "fewer points change the answer";
}

struct Got {
  int status = 0;
  std::string body, etag, content_type, content_length;
};

Got Get(int port, const std::string& path, const std::string& token, const std::string& if_none_match = "") {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(30, 0);
  httplib::Headers h{{"Authorization", "Bearer " + token}};
  if (!if_none_match.empty()) h.emplace("If-None-Match", if_none_match);
  auto r = c.Get(path.c_str(), h);
  Got g;
  if (!r) {
    ADD_FAILURE() << path << ": no answer (" << httplib::to_string(r.error()) << ")";
    return g;
  }
  g.status = r->status;
  g.body = r->body;
  g.etag = r->get_header_value("ETag");
  g.content_type = r->get_header_value("Content-Type");
  g.content_length = r->get_header_value("Content-Length");
  return g;
}

TEST(SchedHttpMetrics, AnUnchangedAnswerIs304WithNoBodyAndAGrownFileIsNew) {
  Daemon d("http_etag", "localhost slots=1\n",
           "tenants:\n  alice: {quota: 1, token: tok-alice}\n"
           "  bob: {quota: 1, token: tok-bob}\n",
           {}, {"--http", "127.0.0.1:0"});
  d.Start();
  const int port = std::atoi(ogai::testing::ReadText(d.state() + "/http.port").c_str());
  ASSERT_GT(port, 0);
  const int steps = 10;
  const int64_t id = d.Submit("tok-alice", {d.WriteConfig("t.yaml", recovery_testing::TestConfig(steps))});
  ASSERT_TRUE(d.WaitState(id, "COMPLETED", 180)) << d.Show(id);
  const std::string path = "/api/jobs/" + std::to_string(id) + "/metrics?points=2000";

  const Got first = Get(port, path, "tok-alice");
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(json::parse(first.body)["steps"], steps) << first.body;
  ASSERT_EQ(first.etag.size(), 34u) << first.etag;
  // The same tag back: 304, nothing in the body, the tag again; also as a weak tag or in a list.
  for (const std::string& inm : {first.etag, "W/" + first.etag, "\"nope\", " + first.etag, std::string("*")}) {
    const Got again = Get(port, path, "tok-alice", inm);
    EXPECT_EQ(again.status, 304) << inm;
    EXPECT_EQ(again.body, "") << inm;
    EXPECT_EQ(again.etag, first.etag) << inm;
    EXPECT_EQ(again.content_type, "") << inm;
    EXPECT_EQ(again.content_length, "0") << inm;  // what cpp-httplib sends for an empty body
  }
  // Another tag: the whole answer. Another tenant's token with the right tag: refused, not 304.
  const Got other = Get(port, path, "tok-alice", "\"0123\"");
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body, first.body);
  EXPECT_EQ(Get(port, path, "tok-bob", first.etag).status, 404);

  // The file grows (an eval record of the last step, as the trainer writes it): a new answer,
  // with its bits per byte, under a new tag, which is then 304 in turn.
  const std::string file = d.JobDir(id) + "/metrics.a1.rank0.jsonl";
  std::ofstream(file, std::ios::app) << R"({"eval": {"step": )" << steps
                                     << R"(, "val_loss": 4.0, "tokens": 512, "bytes": 1500, "bits_per_byte": 1.25, )"
                                     << R"("ms": 3.0, "restart": 0, "unix_ms": 1.0}})"
                                     << "\n";
  const Got grown = Get(port, path, "tok-alice", first.etag);
  ASSERT_EQ(grown.status, 200) << grown.body;
  EXPECT_NE(grown.etag, first.etag);
  const json m = json::parse(grown.body);
  EXPECT_EQ(m["series"]["val_bits_per_byte"][steps - 1], 1.25) << grown.body;
  EXPECT_EQ(m["series"]["val_loss"][steps - 1], 4.0) << grown.body;
  EXPECT_TRUE(m["series"]["val_bits_per_byte"][0].is_null()) << grown.body;
  EXPECT_EQ(Get(port, path, "tok-alice", grown.etag).status, 304);
}

}  // namespace
}  // namespace ogai::sched_testing
