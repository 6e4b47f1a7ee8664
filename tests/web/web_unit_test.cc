// ogai-report's parts: the min/max downsampling, the metrics reader (steps redone after a
// restart, validation losses under the names it accepts, a running job's unfinished last
// line), finding the file in a run folder, and the page's escaping.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

// `text` as the metrics file `name` in `d`, read back.
Result<RunData> WriteAndRead(const TempDir& d, const std::string& name, const std::string& text) {
  WriteFile(d / name, text);
  return ReadMetrics(d / name);
}

TEST(MetricsReader, TheLastLineOfAStepCountsAndRoundsAndCheckpointsAreKept) {
  TempDir d("ogai_web_reader");
  auto run = WriteAndRead(d, "m.jsonl", kRun);
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

// Eval records as the trainer writes them (train/metrics.cc, MetricsFile::WriteEval): bits per
// byte beside the validation loss, null when the bytes were not measured.
constexpr const char* kEvalRun =
    R"({"start": {"restart": 0, "rank": 0, "world": 1, "resume_step": 0, "started_unix_ms": 1000.0}}
{"eval": {"step": 0, "val_loss": 5.5, "tokens": 512, "bytes": 0, "bits_per_byte": null, "ms": 1.0, "restart": 0, "unix_ms": 1500.0}}
{"step": 1, "loss": 5.0, "lr": 0.1, "grad_norm": 1, "ms": 10, "restart": 0, "unix_ms": 2000.0}
{"step": 2, "loss": 4.0, "lr": 0.1, "grad_norm": 1, "ms": 10, "restart": 0, "unix_ms": 3000.0}
{"eval": {"step": 2, "val_loss": 4.5, "tokens": 512, "bytes": 2048, "bits_per_byte": 3.25, "ms": 1.0, "restart": 0, "unix_ms": 3100.0}}
{"step": 3, "loss": 3.5, "lr": 0.1, "grad_norm": 1, "ms": 10, "restart": 0, "unix_ms": 4000.0}
{"eval": {"step": 3, "val_loss": 4.3, "tokens": 512, "bytes": 0, "bits_per_byte": null, "ms": 1.0, "restart": 0, "unix_ms": 4100.0}}
{"step": 4, "loss": 3.0, "lr": 0.1, "grad_norm": 1, "ms": 10, "restart": 0, "unix_ms": 5000.0}
{"eval": {"step": 4, "val_loss": 4.1, "tokens": 512, "bytes": 2048, "bits_per_byte": 2.96, "ms": 1.0, "restart": 0, "unix_ms": 5100.0}}
)";

TEST(MetricsReader, BitsPerByteIsReadBesideTheValidationLossAndNullIsNone) {
  TempDir d("ogai_web_bpb");
  auto run = WriteAndRead(d, "m.jsonl", kEvalRun);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(run->val.size(), 4u);
  EXPECT_EQ(run->val[0].step, 0);
  EXPECT_EQ(run->val[0].loss, 5.5);
  EXPECT_TRUE(std::isnan(run->val[0].bits_per_byte));
  EXPECT_EQ(run->val[1].bits_per_byte, 3.25);
  EXPECT_TRUE(std::isnan(run->val[2].bits_per_byte));
  EXPECT_EQ(run->val[3].step, 4);
  EXPECT_EQ(run->val[3].bits_per_byte, 2.96);
  // Records that have no such key (older files, other names) have none either.
  auto old = WriteAndRead(d, "old.jsonl", kRun);
  ASSERT_TRUE(old.ok());
  ASSERT_EQ(old->val.size(), 2u);
  for (const auto& v : old->val) EXPECT_TRUE(std::isnan(v.bits_per_byte)) << v.step;
}

// The report's embedded chart data (what report_page.js draws), by chart id.
std::map<std::string, nlohmann::json> ReportCharts(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"report-data\">";
  const size_t b = html.find(open);
  const size_t e = html.find("</script>", b);
  EXPECT_NE(b, std::string::npos);
  std::map<std::string, nlohmann::json> out;
  if (b == std::string::npos || e == std::string::npos) return out;
  const auto data = nlohmann::json::parse(html.substr(b + open.size(), e - b - open.size()));
  for (const auto& c : data["charts"]) out[c["id"].get<std::string>()] = c;
  return out;
}

TEST(Report, BitsPerByteIsAChartOnlyWhenTheRunHasIt) {
  TempDir d("ogai_web_bpb_report");
  auto run = WriteAndRead(d, "m.jsonl", kEvalRun);
  ASSERT_TRUE(run.ok());
  const std::string html = RenderReport(*run, {});
  EXPECT_NE(html.find("<h3>Validation bits per byte</h3><div class=\"chart\" id=\"chart-val_bpb\">"),
            std::string::npos);
  EXPECT_NE(html.find("<th>validation bits per byte</th><td>2.9600 at step 4</td>"), std::string::npos);
  auto charts = ReportCharts(html);
  ASSERT_TRUE(charts.count("val_bpb"));
  EXPECT_EQ(charts["val_bpb"]["x"], nlohmann::json({2, 4}));  // the nulls are not drawn
  EXPECT_EQ(charts["val_bpb"]["series"][0]["y"], nlohmann::json({3.25, 2.96}));
  // The loss chart: one x per step, the validation loss beside the training loss at its step.
  ASSERT_TRUE(charts.count("loss"));
  EXPECT_EQ(charts["loss"]["x"], nlohmann::json({0, 1, 2, 3, 4}));
  EXPECT_EQ(charts["loss"]["series"][0]["y"], nlohmann::json({nullptr, 5.0, 4.0, 3.5, 3.0}));
  EXPECT_EQ(charts["loss"]["series"][1]["y"], nlohmann::json({5.5, nullptr, 4.5, 4.3, 4.1}));
  // Without bits per byte (validation losses only): no such chart.
  auto old = WriteAndRead(d, "old.jsonl", kRun);
  ASSERT_TRUE(old.ok());
  const std::string old_html = RenderReport(*old, {});
  EXPECT_EQ(old_html.find("chart-val_bpb"), std::string::npos);
  EXPECT_EQ(ReportCharts(old_html).count("val_bpb"), 0u);
  EXPECT_EQ(old_html.find("validation bits per byte"), std::string::npos);
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
