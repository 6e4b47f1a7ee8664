// ogai-report's parts: the min/max downsampling, the metrics reader (steps redone after a
// restart, validation losses under the names it accepts, a running job's unfinished last
// line), finding the file in a run folder, and the page's escaping.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/util/job.h"
#include "web/assets.h"
#include "web/dashboard_page.h"
#include "web/downsample.h"
#include "web/metrics_reader.h"
#include "web/report_html.h"

namespace ogai::web {
namespace {

using ogai::testing::TempDir;
using ogai::testing::WriteFile;

TEST(Downsample, ShortSeriesAreKeptWhole) {
  std::vector<double> y(100, 1.0);
  const auto idx = DownsampleMinMax(y, 50);
  ASSERT_EQ(idx.size(), 100u);
  EXPECT_EQ(idx.front(), 0u);
  EXPECT_EQ(idx.back(), 99u);
}

TEST(Downsample, LongSeriesKeepFirstLastAndEveryBucketsExtremes) {
  std::vector<double> y(100000);
  for (size_t i = 0; i < y.size(); ++i) y[i] = std::sin(i * 0.01);
  y[54321] = 100.0;  // a one-step spike
  y[77777] = -100.0;
  const auto idx = DownsampleMinMax(y, 1000);
  EXPECT_LE(idx.size(), 2002u);
  EXPECT_GE(idx.size(), 1000u);
  EXPECT_EQ(idx.front(), 0u);
  EXPECT_EQ(idx.back(), y.size() - 1);
  EXPECT_TRUE(std::is_sorted(idx.begin(), idx.end()));
  EXPECT_NE(std::find(idx.begin(), idx.end(), 54321u), idx.end());
  EXPECT_NE(std::find(idx.begin(), idx.end(), 77777u), idx.end());
}

TEST(Downsample, NanIsNeverABucketsExtreme) {
  std::vector<double> y(1000, 1.0);
  for (size_t i = 100; i < 200; ++i) y[i] = NAN;
  y[150] = 5.0;
  for (size_t i : DownsampleMinMax(y, 10)) {
    if (i != 0 && i != 999) {
      EXPECT_FALSE(std::isnan(y[i])) << i;
    }
  }
}

TEST(Downsample, MergeIsTheSortedUnion) {
  EXPECT_EQ(MergeIndices({{0, 5, 9}, {2, 5, 7}}), (std::vector<size_t>{0, 2, 5, 7, 9}));
}

constexpr const char* kRun =
    R"({"start": {"restart": 0, "rank": 0, "world": 2, "dp": 2, "tp": 1, "pp": 1, "grad_accum": 1, "global_batch": 8, "resume_step": 0, "source": "none", "load_ms": 0, "started_unix_ms": 1000.0}}
{"config":{"restart":0,"yaml":"model:\n  seq_len: 64\ntrain:\n  steps: 4\n  global_batch: 8\n"}}
{"hardware":{"cores":2,"cpu":"Test CPU","gemm":"onednn","host":"h","memory_bytes":1073741824,"online_cores":2,"restart":0}}
{"step": 1, "loss": 5.0, "lr": 0.1, "grad_norm": 1, "ms": 10, "dp_exposed_ms": 1, "restart": 0, "unix_ms": 2000.0}
{"step": 2, "loss": 4.0, "lr": 0.1, "grad_norm": 1, "ms": 10, "restart": 0, "unix_ms": 3000.0}
{"checkpoint":{"path":"ck/step_00000002","restart":0,"step":2,"unix_ms":3100.0}}
{"step": 3, "loss": 3.5, "lr": 0.1, "grad_norm": 1, "ms": 10, "restart": 0, "unix_ms": 4000.0}
{"start": {"restart": 1, "rank": 0, "world": 2, "dp": 2, "tp": 1, "pp": 1, "resume_step": 2, "source": "disk", "started_unix_ms": 5000.0}}
{"step": 3, "loss": 3.25, "lr": 0.1, "grad_norm": 1, "ms": 10, "restart": 1, "unix_ms": 6000.0}
{"step": 3, "val_loss": 3.9}
{"eval": {"step": 4, "loss": 3.7}}
{"step": 4, "loss": 3.0, "lr": 0.1, "grad_norm": 1, "ms": 20, "restart": 1, "unix_ms": 7000.0}
{"memory": {"parameters": 1}}
)";

TEST(MetricsReader, TheLastLineOfAStepCountsAndRoundsAndCheckpointsAreKept) {
  TempDir d("ogai_web_reader");
  WriteFile(d / "m.jsonl", kRun);
  auto run = ReadMetrics(d / "m.jsonl");
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(run->steps.size(), 4u);
  EXPECT_EQ(run->lines.size(), 5u);
  EXPECT_EQ(run->steps[2].loss, 3.25);  // redone after the restart
  EXPECT_EQ(run->steps[2].restart, 1);
  ASSERT_EQ(run->rounds.size(), 2u);
  EXPECT_EQ(run->rounds[1].resume_step, 2);
  EXPECT_EQ(run->rounds[1].source, "disk");
  ASSERT_EQ(run->checkpoints.size(), 1u);
  EXPECT_EQ(run->checkpoints[0].path, "ck/step_00000002");
  ASSERT_EQ(run->val.size(), 2u);
  EXPECT_EQ(run->val[0].step, 3);
  EXPECT_EQ(run->val[0].loss, 3.9);
  EXPECT_EQ(run->val[1].step, 4);
  EXPECT_EQ(run->val[1].loss, 3.7);
  EXPECT_TRUE(run->finished);
  EXPECT_EQ(run->train_steps, 4);
  EXPECT_EQ(run->tokens_per_step, 8 * 64);
  EXPECT_EQ(run->skipped_lines, 0);
}

TEST(MetricsReader, ARunningJobsUnfinishedLastLineIsSkippedAndCounted) {
  TempDir d("ogai_web_running");
  std::string text = kRun;
  text = text.substr(0, text.find("{\"memory\""));
  text += "{\"step\": 5, \"loss\": 2.9, \"lr";  // being written
  WriteFile(d / "m.jsonl", text);
  auto run = ReadMetrics(d / "m.jsonl");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->steps.size(), 4u);
  EXPECT_FALSE(run->finished);
  EXPECT_EQ(run->skipped_lines, 1);
  EXPECT_EQ(run->first_skipped_line, 13);
  const std::string html = RenderReport(*run, {});
  EXPECT_NE(html.find("running, or stopped"), std::string::npos);
  EXPECT_NE(html.find("1 skipped (first: line 13"), std::string::npos);
}

TEST(MetricsReader, ARunFolderMustHoldExactlyOneRankZeroMetricsFile) {
  TempDir d("ogai_web_find");
  auto none = FindMetricsFile(d.path());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("train.metrics_file=" + d.path() + "/metrics.jsonl"), std::string::npos);
  WriteFile(d / "m.jsonl", kRun);
  WriteFile(d / "notes.jsonl", "{\"other\": 1}\n");
  WriteFile(d / "rank1.jsonl", "{\"start\": {\"rank\": 1}}\n");
  auto one = FindMetricsFile(d.path());
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(*one, d / "m.jsonl");
  WriteFile(d / "m2.jsonl", kRun);
  auto two = FindMetricsFile(d.path());
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.status().message().find("pass the one"), std::string::npos) << two.status().message();
  EXPECT_FALSE(FindMetricsFile(d / "missing").ok());
}

TEST(Report, TextFromTheFileCannotEndTheScriptOrInjectMarkup) {
  RunData run;
  run.path = "<b>m.jsonl</b>";
  run.config_yaml = "data:\n  paths: [\"</script><script>alert(1)</script>\"]\n";
  run.steps.push_back({});
  run.lines.push_back({});
  const std::string html = RenderReport(run, {});
  EXPECT_EQ(html.find("<b>m.jsonl"), std::string::npos);
  EXPECT_EQ(html.find("alert(1)</script>"), std::string::npos);
  EXPECT_EQ(HtmlEscape("a<&>\"b"), "a&lt;&amp;&gt;&quot;b");
}

TEST(Report, ThePageLoadsNothingFromTheNetwork) {
  RunData run;
  run.steps.push_back({});
  const std::string html = RenderReport(run, {});
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("url(http"), std::string::npos);
  if (ChartsAvailable()) {
    EXPECT_NE(html.find("uPlot"), std::string::npos);
  } else {
    EXPECT_NE(html.find("Charts are unavailable"), std::string::npos);
  }
}

// The build step that embeds uPlot, run without web/node_modules: it still produces a source
// that says why charts are missing (what ogai-report and the dashboard then show), rather than
// failing, and the pages' own files are embedded all the same.
TEST(Report, WithoutNodeModulesTheEmbeddedAssetsSayWhy) {
  TempDir d("ogai_web_assets");
  const std::string src = OGAI_TEST_SOURCE_DIR;
  auto r = ogai::testing::RunShell("cmake -DNODE_MODULES=" + d.path() + "/empty -DWEB_DIR=" + src +
                                   "/web -DFILES=charts.js,dashboard.js -DOUT=" + d.path() + "/a.cc -P " + src +
                                   "/web/embed_assets.cmake 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string text = ogai::testing::ReadText(d / "a.cc");
  EXPECT_NE(text.find("kChartsReason = \"uPlot was not in " + d.path() +
                      "/empty when ogai was built: run "
                      "scripts/build.sh"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("kJs[] = {0}"), std::string::npos);
  EXPECT_NE(text.find("{\"charts.js\", "), std::string::npos);
  EXPECT_NE(text.find("{\"dashboard.js\", "), std::string::npos);
  // A file that is not in web/ is one clear error, not an empty page.
  auto bad = ogai::testing::RunShell("cmake -DNODE_MODULES=" + d.path() + " -DWEB_DIR=" + src +
                                     "/web -DFILES=nope.js -DOUT=" + d.path() + "/b.cc -P " + src +
                                     "/web/embed_assets.cmake 2>&1");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("nope.js does not exist"), std::string::npos) << bad.output;
}

// The dashboard's page: every script and style inline (nothing from the network), the page
// script last, and no data in it (it asks the API).
TEST(Dashboard, PageIsSelfContained) {
  const std::string page = DashboardPage();
  EXPECT_EQ(page.find("<script src"), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_EQ(page.find("url(http"), std::string::npos);
  EXPECT_EQ(page.find("<!--OGAI:"), std::string::npos) << "a marker was not replaced";
  EXPECT_NE(page.find("ogaiDash"), std::string::npos);
  for (const char* f : {"dashboard.js", "charts.js"}) {
    EXPECT_EQ(WebFile(f).find("innerHTML"), std::string::npos) << f << ": API text must never be parsed as HTML";
  }
  if (ChartsAvailable()) {
    EXPECT_NE(page.find("OgaiCharts"), std::string::npos);
    EXPECT_LT(page.find("uPlot"), page.find("const OgaiCharts"));
  } else {
    EXPECT_NE(page.find(kChartsReason), std::string::npos);
  }
}

}  // namespace
}  // namespace ogai::web
