// The dashboard end to end, in a real browser: a real ogai-sched with `--http 127.0.0.1:0`
// running real jobs of a small model through ogai-run, and Debian's headless Chromium driven
// over WebDriver (tests/util/webdriver.h) on its pages. The page mirrors what it shows in
// window.ogaiDash (web/dashboard.js), which the tests read with WebDriver's execute script.
//   * the jobs page lists a tenant's jobs with their states (the admin's, everyone's);
//   * a job page's loss chart has one point per step of the metrics file, and gains points
//     while the job runs, without a reload;
//   * a cancel from the page stops the job: CANCELLED through the CLI, its processes gone;
//   * no token, or another tenant's token: refused by the API and shown as such by the page;
//   * a poll of unchanged metrics is answered 304 and the page keeps its charts;
//   * a 100,000-step metrics file renders in the job page in under a second, with its
//     validation bits per byte drawn.
// Screenshots go to the test's temp folder (kept with OGAI_KEEP_SCREENSHOTS=DIR: copied there).
// Without chromium and chromedriver the tests skip, saying so. No browser process survives.
#include <dirent.h>
#include <httplib.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/recovery/recovery_util.h"
#include "tests/sched/sched_util.h"
#include "tests/util/webdriver.h"

namespace ogai::sched_testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using recovery_testing::TestConfig;
using testing::WebDriver;

constexpr const char* kTenants =
    "tenants:\n"
    "  alice: {quota: 4, token: tok-alice}\n"
    "  bob: {quota: 4, token: tok-bob}\n";

// Pids of the processes whose command line or environment holds `needle`.
std::vector<int> PidsWith(const std::string& needle) {
  std::vector<int> pids;
  DIR* d = ::opendir("/proc");
  if (!d) return pids;
  while (dirent* e = ::readdir(d)) {
    const int pid = std::atoi(e->d_name);
    if (pid <= 0 || pid == ::getpid()) continue;
    for (const char* f : {"/cmdline", "/environ"}) {
      if (testing::ReadText("/proc/" + std::to_string(pid) + f).find(needle) != std::string::npos) {
        pids.push_back(pid);
        break;
      }
    }
  }
  ::closedir(d);
  return pids;
}

std::string Uptime() {
  std::string s = testing::ReadText("/proc/loadavg");
  return s.substr(0, s.find(' ', s.find(' ', s.find(' ') + 1) + 1));
}

// Copies a screenshot to $OGAI_KEEP_SCREENSHOTS (when set), for a person to look at.
void Keep(const std::string& png) {
  if (const char* dir = std::getenv("OGAI_KEEP_SCREENSHOTS")) {
    fs::create_directories(dir);
    fs::copy_file(png, fs::path(dir) / fs::path(png).filename(), fs::copy_options::overwrite_existing);
  }
}

class DashboardBrowser : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string m = WebDriver::Missing(); !m.empty()) GTEST_SKIP() << m;
    // An empty model registry for the models page (ogai-model makes it).
    auto made = testing::RunChild({launch::testing::BinDir() + "/ogai-model", "--root", registry(), "ls"}, 60);
    ASSERT_EQ(made.exit_code, 0) << made.output;
    daemon_ = std::make_unique<Daemon>("dash", "localhost slots=4\n", kTenants, std::vector<std::string>{},
                                       std::vector<std::string>{"--http", "127.0.0.1:0", "--registry", registry()});
    daemon_->Start();
    const std::string port_file = daemon_->state() + "/http.port";
    for (int i = 0; i < 100 && !fs::exists(port_file); ++i) ::usleep(100000);
    const std::string port = testing::ReadText(port_file);
    ASSERT_FALSE(port.empty()) << "no " << port_file << ": " << daemon_->daemon_log();
    port_ = std::stoi(port);
    base_ = "http://127.0.0.1:" + std::to_string(port_);
    cfg_ = daemon_->WriteConfig("t.yaml", TestConfig(20));
  }
  void TearDown() override {
    browsers_.clear();  // ends the sessions and kills chromedriver's group
    for (const std::string& p : profiles_) {
      const auto left = PidsWith(p);
      EXPECT_TRUE(left.empty()) << left.size() << " browser processes of " << p << " outlived the test";
    }
    daemon_.reset();
  }
  // A browser of its own (profile folder in the daemon's test folder).
  WebDriver& Browser() {
    const std::string profile = daemon_->dir() + "/chrome" + std::to_string(browsers_.size());
    profiles_.push_back(profile);
    browsers_.push_back(std::make_unique<WebDriver>(profile));
    WebDriver& b = *browsers_.back();
    EXPECT_TRUE(b.ok()) << b.error();
    return b;
  }
  // The API answer (status, body) of GET/POST `path` with `token` ("" : no header).
  std::pair<int, json> Api(const std::string& method, const std::string& path, const std::string& token) {
    httplib::Client cli("127.0.0.1", port_);
    cli.set_read_timeout(30);
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    auto r = method == "POST" ? cli.Post(path, h, "", "application/json") : cli.Get(path, h);
    if (!r) return {0, nullptr};
    return {r->status, json::parse(r->body, nullptr, false)};
  }
  std::string Screenshot(WebDriver& b, const std::string& name) {
    const std::string png = daemon_->dir() + "/" + name + ".png";
    EXPECT_TRUE(b.Screenshot(png)) << b.error();
    Keep(png);
    return png;
  }
  // Waits until the page's mirror says `expr` (a JS expression over `d`, window.ogaiDash).
  bool WaitPage(WebDriver& b, const std::string& expr, double timeout_s) {
    return b.WaitFor("const d = window.ogaiDash; return !!(d && (" + expr + "));", timeout_s);
  }
  json Dash(WebDriver& b) { return b.Execute("return window.ogaiDash;"); }

  std::string registry() const { return reg_ / "registry"; }

  testing::TempDir reg_{"dash_registry"};
  std::unique_ptr<Daemon> daemon_;
  int port_ = 0;
  std::string base_, cfg_;
  std::vector<std::string> profiles_;
  std::vector<std::unique_ptr<WebDriver>> browsers_;
};

// The job's ranks: the ogai-worker processes that carry its folder.
std::vector<int> RanksOf(const std::string& job_dir) {
  std::vector<int> ranks;
  for (int pid : PidsWith(job_dir + "/"))
    if (testing::ReadText("/proc/" + std::to_string(pid) + "/comm") == "ogai-worker\n") ranks.push_back(pid);
  return ranks;
}

void SignalAll(const std::vector<int>& pids, int sig) {
  for (int pid : pids) ::kill(pid, sig);
}

// The states of the jobs the page shows, "id:STATE" sorted by id.
std::string PageStates(const json& d) {
  std::map<int64_t, std::string> m;
  for (const auto& j : d["jobs"]) m[std::stoll(j["id"].get<std::string>())] = j["state"].get<std::string>();
  std::string s;
  for (const auto& [id, st] : m) s += std::to_string(id) + ":" + st + " ";
  return s;
}

TEST_F(DashboardBrowser, JobsPageListsJobsWithTheirStatesAndACancelFromThePageStopsAJob) {
  const int64_t done = daemon_->Submit("tok-bob", {cfg_, "--name", "bob-done", "train.steps=10"});
  ASSERT_TRUE(daemon_->WaitState(done, "COMPLETED", 120)) << daemon_->Show(done);
  const int64_t run =
      daemon_->Submit("tok-alice", {cfg_, "--name", "alice-long", "train.steps=100000", "checkpoint.every_steps=1000"});
  const int64_t held = daemon_->Submit("tok-alice", {cfg_, "--name", "<b>alice & held</b>", "--hold"});
  ASSERT_TRUE(daemon_->WaitState(run, "RUNNING", 60)) << daemon_->Show(run);

  // Alice, token in the URL fragment: her two jobs, with their states, not bob's.
  WebDriver& b = Browser();
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(b.Navigate(base_ + "/jobs#token=tok-alice")) << b.error();
  ASSERT_TRUE(WaitPage(b, "d.jobs.length >= 2", 30)) << Dash(b).dump();
  const std::string ids = std::to_string(run) + ":RUNNING " + std::to_string(held) + ":PENDING ";
  EXPECT_EQ(PageStates(Dash(b)), ids);
  EXPECT_EQ(b.Execute("return location.href;"), base_ + "/jobs") << "the token stays out of the address bar";
  EXPECT_EQ(b.Execute("return sessionStorage.getItem('ogai-dashboard-token');"), "tok-alice");
  // The name is shown as text, not parsed as HTML.
  EXPECT_EQ(b.Execute("return document.querySelector('#jobs tr[data-id=\"" + std::to_string(held) +
                      "\"] td:nth-child(2)').textContent;"),
            "<b>alice & held</b>");
  EXPECT_EQ(b.Execute("return document.querySelectorAll('#jobs b').length;"), 0);
  // The state filter.
  ASSERT_TRUE(b.Execute("const s = document.getElementById('filter-state'); s.value = 'PENDING';"
                        "s.dispatchEvent(new Event('change')); return true;") == json(true));
  EXPECT_EQ(Dash(b)["rows"], json::array({std::to_string(held)}));
  EXPECT_EQ(b.Execute("return location.search;"), "?state=PENDING");
  Screenshot(b, "jobs-alice");

  // The admin sees every tenant's jobs, in the states the CLI shows.
  WebDriver& admin = Browser();
  ASSERT_TRUE(admin.Navigate(base_ + "/jobs#token=" + daemon_->admin_token())) << admin.error();
  ASSERT_TRUE(WaitPage(admin, "d.jobs.length >= 3", 30)) << Dash(admin).dump();
  std::string cli;
  for (int64_t id : {done, run, held}) cli += std::to_string(id) + ":" + daemon_->State(id) + " ";
  EXPECT_EQ(PageStates(Dash(admin)), cli);
  EXPECT_EQ(PageStates(Dash(admin)), std::to_string(done) + ":COMPLETED " + ids);
  EXPECT_TRUE(admin.WaitFor("return document.getElementById('filter-tenant').options.length === 3;", 5));
  ASSERT_TRUE(admin.Execute("const s = document.getElementById('filter-tenant'); s.value = 'bob';"
                            "s.dispatchEvent(new Event('change')); return true;") == json(true));
  EXPECT_EQ(Dash(admin)["rows"], json::array({std::to_string(done)}));

  // Cancel from alice's page: the button takes a second click.
  ASSERT_TRUE(b.Navigate(base_ + "/jobs")) << b.error();  // the token is kept for the session
  ASSERT_TRUE(WaitPage(b, "d.jobs.length >= 2", 30)) << Dash(b).dump();
  const std::string button = "#cancel-" + std::to_string(run);
  ASSERT_TRUE(b.Click(button)) << b.error() << "\n" << Dash(b).dump() << "\n" << daemon_->Show(run);
  EXPECT_EQ(b.Execute("return document.querySelector('" + button + "').textContent;"), "really cancel?");
  ::usleep(300000);
  EXPECT_EQ(daemon_->State(run), "RUNNING") << "one click does not cancel";
  ASSERT_TRUE(b.Click(button)) << b.error();
  EXPECT_TRUE(daemon_->WaitState(run, "CANCELLED", 60)) << daemon_->Show(run);
  // Its processes (ogai-run and the ranks carry the job's folder in their environment) are gone.
  std::vector<int> left;
  for (int i = 0; i < 100; ++i) {
    left = PidsWith(daemon_->JobDir(run) + "/");
    if (left.empty()) break;
    ::usleep(100000);
  }
  EXPECT_TRUE(left.empty()) << left.size() << " processes of the cancelled job are left";
  ASSERT_TRUE(WaitPage(b, "d.jobs.some(j => j.id === '" + std::to_string(run) + "' && j.state === 'CANCELLED')", 10))
      << Dash(b).dump();
  EXPECT_EQ(daemon_->State(held), "PENDING");
  Screenshot(b, "jobs-after-cancel");
  // Release the held job from the page: it is no longer held and runs (and ends) as usual.
  ASSERT_TRUE(b.Click("#release-" + std::to_string(held))) << b.error();
  bool released = false;
  for (int i = 0; i < 300 && !released; ++i, ::usleep(100000)) {
    const std::string st = daemon_->State(held);
    released = st == "RUNNING" || st == "COMPLETED";
  }
  EXPECT_TRUE(released) << daemon_->Show(held);
  EXPECT_TRUE(daemon_->WaitState(held, "COMPLETED", 120)) << daemon_->Show(held);

  // The nodes page: the pool's one node, its slots, none used now.
  ASSERT_TRUE(b.Navigate(base_ + "/nodes")) << b.error();
  ASSERT_TRUE(WaitPage(b, "d.nodes && d.nodes.length === 1", 30)) << Dash(b).dump();
  EXPECT_EQ(Dash(b)["nodes"][0], json({{"name", "localhost"}, {"up", true}, {"used", 0}, {"slots", 4}}));
  Screenshot(b, "nodes");
}

TEST_F(DashboardBrowser, AJobPagesChartHasOnePointPerStepAndGainsPointsWhileTheJobRuns) {
  const int64_t id = daemon_->Submit("tok-alice", {cfg_, "--name", "curves", "-np", "2", "parallel.dp=2",
                                                   "train.steps=400", "checkpoint.every_steps=100"});
  ASSERT_TRUE(daemon_->WaitState(id, "RUNNING", 60)) << daemon_->Show(id);
  // The chart must be seen growing whatever the machine's speed, so the test sets the pace: the
  // job's two ranks are paused (SIGSTOP) while the page loads, then run 20 or more steps at a
  // time and are paused again, and each time the page must come to show exactly the steps the
  // metrics file has. (Pauses of seconds are far below the job's 60 s timeouts.)
  std::vector<int> ranks;
  for (int i = 0; i < 600 && ranks.size() < 2; ++i, ::usleep(100000)) ranks = RanksOf(daemon_->JobDir(id));
  ASSERT_EQ(ranks.size(), 2u) << daemon_->Show(id);
  SignalAll(ranks, SIGSTOP);
  struct Resume {  // never leaves the ranks stopped, whatever fails
    std::vector<int>* pids;
    ~Resume() { SignalAll(*pids, SIGCONT); }
  } resume{&ranks};
  auto [code0, info0] = Api("GET", "/api/jobs/" + std::to_string(id), "tok-alice");
  ASSERT_EQ(code0, 200) << info0.dump();
  const std::string metrics = info0["metrics_file"].get<std::string>();
  WebDriver& b = Browser();
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(b.Navigate(base_ + "/job/" + std::to_string(id) + "#token=tok-alice")) << b.error();
  ASSERT_TRUE(WaitPage(b, "d.view === 'job'", 30)) << Dash(b).dump();
  if (std::string why = Dash(b)["chartsUnavailable"]; !why.empty()) GTEST_SKIP() << "no charts: " << why;
  const std::string nav = b.Execute("return performance.timeOrigin;").dump();
  std::vector<size_t> seen;
  size_t last = testing::ReadStepMetrics(metrics).size();
  for (int round = 0; round < 3; ++round) {
    SignalAll(ranks, SIGCONT);
    size_t n = last;
    for (int i = 0; i < 6000 && n < last + 20; ++i, ::usleep(10000)) n = testing::ReadStepMetrics(metrics).size();
    SignalAll(ranks, SIGSTOP);
    ::usleep(200000);  // a line being written when the signal came is finished or not begun
    n = testing::ReadStepMetrics(metrics).size();
    ASSERT_GE(n, last + 20) << "the job made no progress in 60 s: " << daemon_->Show(id);
    ASSERT_LT(n, 400u) << "the job ended before its chart was seen growing";
    const std::string shows = "d.steps === " + std::to_string(n) + " && d.points.loss === " + std::to_string(n);
    EXPECT_TRUE(WaitPage(b, shows, 15)) << "round " << round << ", " << n << " steps in the file: " << Dash(b).dump();
    // The ranks are paused, so the file stays as it is: the next polls are answered 304 (no
    // body), and the page keeps what it drew.
    const int unchanged = Dash(b).value("metricsUnchanged", -1);
    EXPECT_TRUE(WaitPage(b, "d.metricsUnchanged > " + std::to_string(unchanged), 10)) << Dash(b).dump();
    EXPECT_TRUE(WaitPage(b, shows, 1)) << "after a 304: " << Dash(b).dump();
    EXPECT_GT(b.Execute("return OgaiCharts.painted(document.querySelector('#chart-loss canvas'));").get<int>(), 200)
        << "the loss curve is gone after a 304";
    seen.push_back(n);
    last = n;
  }
  SignalAll(ranks, SIGCONT);
  EXPECT_EQ(seen.size(), 3u) << "the chart did not grow while the job ran";
  ASSERT_TRUE(daemon_->WaitState(id, "COMPLETED", 180)) << daemon_->Show(id);
  // Finished: as many points as the metrics file has steps, on every chart.
  auto [code, info] = Api("GET", "/api/jobs/" + std::to_string(id), "tok-alice");
  ASSERT_EQ(code, 200) << info.dump();
  const auto steps = testing::ReadStepMetrics(info["metrics_file"].get<std::string>());
  ASSERT_EQ(steps.size(), 400u);
  ASSERT_TRUE(WaitPage(b, "d.steps === 400 && d.points.loss === 400 && d.job && d.job.state === 'COMPLETED'", 30))
      << Dash(b).dump();
  const json d = Dash(b);
  for (const char* c : {"loss", "tokens", "step_ms", "lr", "grad_norm", "comm"}) {
    EXPECT_EQ(d["points"].value(c, -1), 400) << c << ": " << d.dump();
  }
  EXPECT_FALSE(d["points"].contains("val_bpb")) << "no eval, yet a bits-per-byte chart: " << d.dump();
  EXPECT_GE(d["metricsUnchanged"].get<int>(), 3) << d.dump();
  EXPECT_EQ(b.Execute("return performance.timeOrigin;").dump(), nav) << "the page was reloaded";
  EXPECT_GE(d["metricsPolls"].get<int>(), 3);
  // The loss curve was drawn (its colour covers a line's worth of the canvas), the
  // checkpoints are listed and the log tail is there.
  EXPECT_GT(b.Execute("return OgaiCharts.painted(document.querySelector('#chart-loss canvas'));").get<int>(), 200);
  EXPECT_TRUE(WaitPage(b, "d.log > 0", 10));
  EXPECT_NE(b.Execute("return document.body.textContent;").get<std::string>().find("step_00000400"), std::string::npos);
  EXPECT_TRUE(b.Resize(1400, 1900)) << b.error();
  ::usleep(300000);
  Screenshot(b, "dashboard-job");

  // Its last checkpoint registered as a model: the models page shows it, its alias and lineage.
  auto reg = testing::RunChild(
      {launch::testing::BinDir() + "/ogai-model", "--root", registry(), "register",
       info["checkpoints"].back()["path"].get<std::string>(), "--name", "curves-model", "--alias", "best"},
      120);
  ASSERT_EQ(reg.exit_code, 0) << reg.output;
  ASSERT_TRUE(b.Navigate(base_ + "/models")) << b.error();
  ASSERT_TRUE(WaitPage(b, "d.models && d.models.length === 1", 30)) << Dash(b).dump();
  EXPECT_EQ(Dash(b)["models"], json::array({"curves-model"}));
  const std::string text = b.Execute("return document.getElementById('view').textContent;").get<std::string>();
  EXPECT_NE(text.find("@1"), std::string::npos) << text;
  EXPECT_NE(text.find("best"), std::string::npos) << text;
  EXPECT_NE(text.find("step_00000400"), std::string::npos) << "the lineage's source checkpoint: " << text;
  Screenshot(b, "models");
}

TEST_F(DashboardBrowser, NoTokenOrAnotherTenantsTokenIsRefusedAndThePageSaysSo) {
  const int64_t id = daemon_->Submit("tok-alice", {cfg_, "--name", "alices", "--hold"});
  const std::string job = "/api/jobs/" + std::to_string(id);
  // The API: no token 401; an unknown one 401; bob on alice's job refused, nothing changed.
  for (const std::string& path : {std::string("/api/jobs"), job, job + "/metrics", job + "/log?offset=0"}) {
    auto [code, body] = Api("GET", path, "");
    EXPECT_EQ(code, 401) << path << ": " << body.dump();
    EXPECT_TRUE(body.is_object() && body.contains("error")) << body.dump();
  }
  EXPECT_EQ(Api("GET", "/api/jobs", "nope").first, 401);
  EXPECT_EQ(Api("POST", job + "/cancel", "").first, 401);
  for (const std::string& path : {job, job + "/metrics", job + "/log?offset=0"}) {
    const int code = Api("GET", path, "tok-bob").first;
    EXPECT_TRUE(code == 403 || code == 404) << path << ": " << code;
  }
  const int cancel = Api("POST", job + "/cancel", "tok-bob").first;
  EXPECT_TRUE(cancel == 403 || cancel == 404) << cancel;
  EXPECT_EQ(daemon_->State(id), "PENDING");
  auto [code, bobs] = Api("GET", "/api/jobs?all=1", "tok-bob");
  EXPECT_EQ(code, 200);
  EXPECT_EQ(bobs.dump().find("alices"), std::string::npos) << bobs.dump();
  // The page is served without a token (it carries no data)...
  auto page = httplib::Client("127.0.0.1", port_).Get("/jobs");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);

  // ... and says the API refused it.
  WebDriver& b = Browser();
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(b.Navigate(base_ + "/jobs")) << b.error();
  ASSERT_TRUE(WaitPage(b, "d.refused === 401", 30)) << Dash(b).dump();
  const std::string banner = b.Execute(
      "return document.getElementById('banner').hidden ? '' : "
      "document.getElementById('banner').textContent;");
  EXPECT_NE(banner.find("No token"), std::string::npos) << banner;
  EXPECT_EQ(Dash(b)["jobs"].size(), 0u);
  Screenshot(b, "no-token");
  // Bob on alice's job page: refused, no data and no buttons.
  ASSERT_TRUE(b.Navigate(base_ + "/job/" + std::to_string(id) + "#token=tok-bob")) << b.error();
  ASSERT_TRUE(WaitPage(b, "d.error !== ''", 30)) << Dash(b).dump();
  const json d = Dash(b);
  EXPECT_TRUE(d["refused"] == 403 || d["error"].get<std::string>().find("404") != std::string::npos) << d.dump();
  EXPECT_NE(d["error"].get<std::string>().find(std::to_string(id)), std::string::npos) << d.dump();
  EXPECT_TRUE(d["job"].is_null()) << d.dump();
  EXPECT_EQ(b.Execute("return document.querySelectorAll('button.act').length;"), 0);
  EXPECT_TRUE(b.WaitFor("return document.getElementById('job-body').hidden;", 10)) << "the job's sections stay";
  // A wrong token typed into the field: 401, said so.
  ASSERT_TRUE(b.Execute("document.getElementById('token').value = 'wrong';"
                        "document.getElementById('token-form').requestSubmit(); return true;") == json(true));
  ASSERT_TRUE(WaitPage(b, "d.refused === 401", 30)) << Dash(b).dump();
  EXPECT_NE(Dash(b)["error"].get<std::string>().find("refused this token"), std::string::npos) << Dash(b).dump();
  Screenshot(b, "wrong-token");
}

// 100,000 steps: the server downsamples, the page draws in under a second after navigation.
TEST_F(DashboardBrowser, AHundredThousandStepsRenderInTheJobPageInUnderASecond) {
  const int64_t id = daemon_->Submit("tok-alice", {cfg_, "--name", "long", "train.steps=5"});
  ASSERT_TRUE(daemon_->WaitState(id, "COMPLETED", 120)) << daemon_->Show(id);
  auto [code, info] = Api("GET", "/api/jobs/" + std::to_string(id), "tok-alice");
  ASSERT_EQ(code, 200) << info.dump();
  const std::string file = info["metrics_file"].get<std::string>();
  ASSERT_FALSE(file.empty()) << info.dump();
  // The finished job's metrics file, replaced by a synthetic 100,000-step run.
  ogai::testing::WriteSyntheticMetrics(file, 100000);
  WebDriver& b = Browser();
  ASSERT_TRUE(b.ok());
  std::vector<double> ms;
  for (int i = 0; i < 3; ++i) {  // the first load warms the browser's and the server's caches
    // The token comes with the first load and is kept for the session: the later loads are of
    // another URL than the one the page is at (a fragment change alone would not reload it).
    ASSERT_TRUE(b.Navigate(base_ + "/job/" + std::to_string(id) + (i == 0 ? "#token=tok-alice" : ""))) << b.error();
    ASSERT_TRUE(WaitPage(b, "d.view === 'job'", 30)) << Dash(b).dump();
    if (std::string why = Dash(b)["chartsUnavailable"]; !why.empty()) GTEST_SKIP() << "no charts: " << why;
    ASSERT_TRUE(WaitPage(b, "d.firstDrawMs != null", 30)) << Dash(b).dump();
    const json d = Dash(b);
    EXPECT_EQ(d["steps"], 100000);
    const int points = d["points"].value("loss", 0);
    EXPECT_GT(points, 1000) << d.dump();
    EXPECT_LE(points, 5002) << d.dump();
    // The file's eval records have bits per byte (but the first): its chart is drawn.
    EXPECT_EQ(d["points"].value("val_bpb", -1), points) << d.dump();
    EXPECT_GT(b.Execute("return OgaiCharts.painted(document.querySelector('#chart-val_bpb canvas'));").get<int>(), 50)
        << "no bits-per-byte curve";
    ms.push_back(d["firstDrawMs"].get<double>());
    std::printf(
        "100,000 steps: %d points per chart, drawn %.1f ms after navigation started (metrics request %.1f ms, "
        "drawing %.1f ms); load %s\n",
        points, ms.back(), d["fetchMs"].get<double>(), d["drawMs"].get<double>(), Uptime().c_str());
  }
  Screenshot(b, "job-100k");
  EXPECT_LT(*std::min_element(ms.begin(), ms.end()), 1000.0);
  EXPECT_LT(ms.back(), 1000.0);
}

}  // namespace
}  // namespace ogai::sched_testing
