// ogai-report end to end, in a real browser: a tiny run through ogai-run (two ranks,
// checkpoints), its report, and Debian's headless Chromium running the page. The page writes
// what it drew into hidden elements (#plotted: points per chart; #painted: pixels of the loss
// curve's colour; #render-ms) which --dump-dom returns after the scripts ran. A screenshot
// goes into the test's temp folder. Without chromium the test skips, saying so.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/util/job.h"
#include "web/assets.h"
#include "web/metrics_reader.h"
#include "web/report_html.h"

namespace {

namespace fs = std::filesystem;
using ogai::testing::RunShell;
using ogai::testing::TempDir;

std::string Bin(const std::string& name) { return ogai::testing::BuildDir() + "/bin/" + name; }

std::string Chromium() {
  for (const char* c : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (fs::exists(c)) return c;
  }
  return "";
}

// What a hidden element of the page holds after its scripts ran.
std::string Probe(const std::string& dom, const std::string& id) {
  std::smatch m;
  if (!std::regex_search(dom, m, std::regex("<span id=\"" + id + "\">([^<]*)</span>"))) return "";
  return m[1];
}

int PlottedPoints(const std::string& plotted, const std::string& chart) {
  std::smatch m;
  if (!std::regex_search(plotted, m, std::regex("\"" + chart + "\":([0-9]+)"))) return -1;
  return std::stoi(m[1]);
}

// Runs the page in headless Chromium with its own profile folder (several tests may run it
// at once) and returns the DOM after the scripts ran.
std::string DumpDom(const std::string& chromium, const TempDir& d, const std::string& html) {
  auto r = RunShell(chromium + " --headless --disable-gpu --no-sandbox --user-data-dir=" + d.path() +
                        "/chrome --virtual-time-budget=10000 --dump-dom file://" + html + " 2>/dev/null",
                    180);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

// Bad input: one error line saying what and how to fix it, a non-zero exit, no page.
TEST(ReportCli, BadInputIsOneClearErrorLine) {
  TempDir d("ogai_web_cli");
  ogai::testing::WriteFile(d / "notes.txt", "not metrics\n");
  const std::string cd = "cd " + d.path() + " && ";
  struct Case {
    std::string args, says;
    int code;
  } cases[] = {
      {"", "no run folder or metrics file given", 2},
      {"missing", "'missing' is neither a metrics file nor a folder", 1},
      {".", "no metrics file in '.'", 1},
      {"notes.txt", "has no step or start record", 1},
      {"notes.txt --bogus", "unknown option '--bogus'", 2},
  };
  for (const Case& c : cases) {
    auto r = RunShell(cd + Bin("ogai-report") + " " + c.args + " 2>&1");
    EXPECT_EQ(r.exit_code, c.code) << c.args << ": " << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << c.args << ": " << r.output;
    EXPECT_EQ(r.output.find(" E: "), r.output.rfind(" E: ")) << "one error line: " << r.output;
  }
  EXPECT_FALSE(fs::exists(d / "report.html"));
}

class ReportBrowser : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = Chromium();
    if (chromium_.empty()) GTEST_SKIP() << "chromium is not installed (scripts/deps.sh installs it)";
    if (!ogai::web::ChartsAvailable()) {
      GTEST_SKIP() << "ogai-report was built without charts: " << ogai::web::kChartsReason;
    }
  }
  std::string chromium_;
};

TEST_F(ReportBrowser, TheTinyRunsReportDrawsOnePointPerStep) {
  TempDir d("ogai_web_report");
  fs::create_directories(d / "run");
  auto job = RunShell(Bin("ogai-run") + " -np 2 " + OGAI_TEST_SOURCE_DIR + "/examples/tiny.yaml parallel.dp=2 " +
                      "train.steps=60 checkpoint.dir=" + d.path() + "/ck checkpoint.every_steps=20 " +
                      "train.metrics_file=" + d.path() + "/run/metrics.jsonl 2>&1");
  ASSERT_EQ(job.exit_code, 0) << job.output;
  const auto steps = ogai::testing::ReadStepMetrics(d / "run/metrics.jsonl");
  ASSERT_EQ(steps.size(), 60u);
  // The folder form of the argument, through the CLI users type: `ogai report RUN_DIR`.
  auto rep = RunShell(Bin("ogai") + " report " + d.path() + "/run --out " + d.path() + "/report.html 2>&1");
  ASSERT_EQ(rep.exit_code, 0) << rep.output;
  EXPECT_NE(rep.output.find("60 steps"), std::string::npos) << rep.output;
  const std::string html = ogai::testing::ReadText(d / "report.html");
  EXPECT_NE(html.find("finished at step 60 of 60"), std::string::npos);
  EXPECT_NE(html.find("/ck/step_00000040"), std::string::npos);  // the checkpoint table
  EXPECT_NE(html.find("GEMM"), std::string::npos);               // the hardware table
  EXPECT_NE(html.find("global_batch: 8"), std::string::npos);    // the resolved config

  const std::string dom = DumpDom(chromium_, d, d / "report.html");
  EXPECT_EQ(Probe(dom, "steps"), "60");
  const std::string plotted = Probe(dom, "plotted");
  ASSERT_FALSE(plotted.empty()) << "the page's script did not run: " << dom.substr(0, 2000);
  for (const char* chart : {"loss", "tokens", "step_ms", "lr", "grad_norm", "comm", "timeline"}) {
    EXPECT_EQ(PlottedPoints(plotted, chart), 60) << chart << " in " << plotted;
  }
  EXPECT_EQ(PlottedPoints(plotted, "val_bpb"), -1) << "no eval in this run, yet a bits-per-byte chart: " << plotted;
  // The loss curve was drawn: its colour covers a line's worth of the canvas.
  EXPECT_GT(std::stoi(Probe(dom, "painted")), 200) << plotted;

  auto shot =
      RunShell(chromium_ + " --headless --disable-gpu --no-sandbox --hide-scrollbars --user-data-dir=" + d.path() +
                   "/chrome --window-size=1200,2400 --virtual-time-budget=10000 --screenshot=" + d.path() +
                   "/report.png file://" + d.path() + "/report.html 2>&1",
               180);
  EXPECT_EQ(shot.exit_code, 0) << shot.output;
  EXPECT_GT(fs::file_size(d / "report.png"), 50000u) << "a nearly empty screenshot";
}

// 100,000 steps: the report is downsampled on the C++ side and the browser draws it fast.
TEST_F(ReportBrowser, AHundredThousandStepsRenderInUnderASecond) {
  TempDir d("ogai_web_big");
  ogai::testing::WriteSyntheticMetrics(d / "metrics.jsonl", 100000);
  auto rep = RunShell("cd " + d.path() + " && " + Bin("ogai-report") + " metrics.jsonl 2>&1");
  ASSERT_EQ(rep.exit_code, 0) << rep.output;
  const std::string dom = DumpDom(chromium_, d, d / "report.html");
  EXPECT_EQ(Probe(dom, "steps"), "100000");
  const std::string plotted = Probe(dom, "plotted");
  const int loss_points = PlottedPoints(plotted, "loss");
  EXPECT_GT(loss_points, 2000) << plotted;
  EXPECT_LE(loss_points, 4002 + 100) << plotted;  // the training loss's, and the 100 evals' steps
  // The evals' bits per byte, every 1000 steps but the first (null: not measured).
  EXPECT_EQ(PlottedPoints(plotted, "val_bpb"), 99) << plotted;
  // From the start of navigation until every chart is drawn (reading and parsing the 100,000
  // steps' page and uPlot included); Chromium's own start-up is not in it.
  const double ms = std::stod(Probe(dom, "render-ms"));
  std::printf("100,000 steps: %d loss points drawn; rendered %.1f ms after navigation start (page script %s ms)\n",
              loss_points, ms, Probe(dom, "script-ms").c_str());
  EXPECT_LT(ms, 1000.0);

  // The baseline, same file, same browser: every point drawn (no downsampling).
  auto run = ogai::web::ReadMetrics(d / "metrics.jsonl");
  ASSERT_TRUE(run.ok());
  ogai::web::ReportOptions all;
  all.buckets = 1000000;
  ogai::testing::WriteFile(d / "all.html", ogai::web::RenderReport(*run, all));
  const std::string full = DumpDom(chromium_, d, d / "all.html");
  EXPECT_EQ(PlottedPoints(Probe(full, "plotted"), "loss"), 100000);
  const double full_ms = std::stod(Probe(full, "render-ms"));
  std::printf(
      "without downsampling: 100,000 points per chart, rendered in %.1f ms (%.2fx the downsampled page); "
      "page %.1f MB against %.2f MB\n",
      full_ms, full_ms / ms, fs::file_size(d / "all.html") / 1e6, fs::file_size(d / "report.html") / 1e6);
}

}  // namespace
