// The dashboard's HTTP API (`ogai-sched --http`, sched/http_*.cc) against a real ogai-sched with
// real jobs of a small model, through cpp-httplib's client:
//   * bad flags are one line and leave nothing behind (a host that is not loopback, a port in
//     use, --http-allow-remote alone);
//   * no token, a wrong token, another tenant's token: refused (401, and the gRPC API's 404 for
//     another tenant's job), nothing changed; writes are POST only; a body over 4 KiB is 413;
//     the security headers are on every answer;
//   * hold and release; /api/jobs lists the jobs with their states; tenant A cancels its own
//     running job with a POST and it stops, its processes gone;
//   * /api/jobs/ID/metrics has every step of a short run, grows while the job runs; the log, the
//     checkpoints, the models of a registry;
//   * a 100,000-step metrics file is downsampled to the points asked for, keeping a spike.
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sched/http_metrics.h"
#include "tests/recovery/recovery_util.h"
#include "tests/sched/sched_util.h"
#include "tests/util/child.h"
#include "tests/util/listener.h"

namespace ogai::sched_testing {
namespace {

using nlohmann::json;
using recovery_testing::TestConfig;

constexpr const char* kTenants =
    "tenants:\n"
    "  alice: {quota: 2, token: tok-alice}\n"
    "  bob: {quota: 2, token: tok-bob}\n";

struct Reply {
  int status = 0;
  std::string body;
  httplib::Headers headers;
  json Json() const { return json::parse(body, nullptr, false); }
  std::string Header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? "" : it->second;
  }
};

class Api {
 public:
  explicit Api(Daemon& d) {
    port_ = std::atoi(ogai::testing::ReadText(d.state() + "/http.port").c_str());
    EXPECT_GT(port_, 0) << "no port in " << d.state() << "/http.port";
  }
  Reply Get(const std::string& path, const std::string& token) { return Do("GET", path, token, ""); }
  Reply Post(const std::string& path, const std::string& token, const std::string& body = "") {
    return Do("POST", path, token, body);
  }
  int port() const { return port_; }

 private:
  Reply Do(const std::string& method, const std::string& path, const std::string& token, const std::string& body) {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(30, 0);
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    auto r = method == "GET" ? c.Get(path.c_str(), h) : c.Post(path.c_str(), h, body, "application/json");
    Reply out;
    if (!r) {
      ADD_FAILURE() << method << " " << path << ": no answer (" << httplib::to_string(r.error()) << ")";
      return out;
    }
    out.status = r->status;
    out.body = r->body;
    out.headers = r->headers;
    return out;
  }
  int port_ = 0;
};

std::string JobPath(int64_t id, const std::string& rest = "") { return "/api/jobs/" + std::to_string(id) + rest; }

// The job's state through the API (the admin sees every job).
std::string ApiState(Api& api, Daemon& d, int64_t id) {
  return api.Get(JobPath(id), d.admin_token()).Json().value("state", std::string());
}

bool WaitApiState(Api& api, Daemon& d, int64_t id, const std::string& state, double timeout) {
  for (double t = 0; t < timeout; t += 0.2) {
    if (ApiState(api, d, id) == state) return true;
    ::usleep(200000);
  }
  return false;
}

// The processes of a job (its supervisor, ogai-run, its ranks): those carrying the test's mark
// whose command line names the job's folder, after waiting up to `grace` seconds for none.
std::vector<pid_t> JobProcesses(Daemon& d, int64_t id, double grace) {
  const std::string needle = d.JobDir(id) + "/";
  for (double t = 0;; t += 0.1) {
    std::vector<pid_t> out;
    for (pid_t p : launch::testing::Survivors(d.mark())) {
      std::string cmd = ogai::testing::ReadText("/proc/" + std::to_string(p) + "/cmdline");
      std::replace(cmd.begin(), cmd.end(), '\0', ' ');
      if (cmd.find(needle) != std::string::npos) out.push_back(p);
    }
    if (out.empty() || t >= grace) return out;
    ::usleep(100000);
  }
}

int CountLines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// ogai-sched with `flags` that must fail: its output.
ogai::testing::ChildResult RunSched(const std::string& state, const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {launch::testing::BinDir() + "/ogai-sched", "--state", state};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return ogai::testing::RunChild(argv, 30);
}

TEST(SchedHttp, BadFlagsAreOneLineAndLeaveNothing) {
  ogai::testing::TempDir dir("sched_http_flags");
  const std::string state = dir / "state";
  auto r = RunSched(state, {"--http", "0.0.0.0:0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(CountLines(r.output), 1) << r.output;
  EXPECT_NE(r.output.find("'0.0.0.0' is not a loopback address"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--http-allow-remote"), std::string::npos) << r.output;
  r = RunSched(state, {"--http-allow-remote"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(CountLines(r.output), 1) << r.output;
  EXPECT_NE(r.output.find("--http-allow-remote without --http"), std::string::npos) << r.output;
  r = RunSched(state, {"--http", "127.0.0.1:0", "--registry", dir / "no-registry"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(CountLines(r.output), 1) << r.output;
  EXPECT_NE(r.output.find("no registry there (no registry.db)"), std::string::npos) << r.output;
  r = RunSched(state, {"--http", "127.0.0.1:http"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("'http' is not a port"), std::string::npos) << r.output;
  // A port in use (a socket of this test listens on it).
  ::ogai::testing::LoopbackListener in_use(4);
  ASSERT_TRUE(in_use.ok());
  r = RunSched(state, {"--http", "127.0.0.1:" + std::to_string(in_use.port())});
  in_use.Close();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(CountLines(r.output), 1) << r.output;
  EXPECT_NE(r.output.find("the port is in use"), std::string::npos) << r.output;
  // None of the refused starts made the state folder.
  EXPECT_NE(::access(state.c_str(), F_OK), 0) << state << " was created";
}

// SIGTERM: the daemon stops with its HTTP server, the port free again and http.port removed.
TEST(SchedHttp, StopsCleanlyWithTheDaemon) {
  ogai::testing::TempDir dir("sched_http_stop");
  const std::string state = dir / "state";
  auto child = launch::testing::Child::Start(
      {launch::testing::BinDir() + "/ogai-sched", "--state", state, "--http", "127.0.0.1:0"});
  ASSERT_TRUE(child->WaitForStdout([](const std::string& o) { return o.find("listening") != std::string::npos; }, 30))
      << child->out() << child->err();
  const int port = std::atoi(ogai::testing::ReadText(state + "/http.port").c_str());
  ASSERT_GT(port, 0);
  EXPECT_NE(child->out().find("ogai-sched: dashboard at http://127.0.0.1:" + std::to_string(port) + "/"),
            std::string::npos)
      << child->out();
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/api/whoami");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  child->Signal(SIGTERM);
  EXPECT_EQ(child->Wait(30), 0) << child->out() << child->err();
  EXPECT_NE(::access((state + "/http.port").c_str(), F_OK), 0) << "http.port left behind";
  // The port is free: this test can listen on it.
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const int yes = 1;
  ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);  // the client's closed connection may linger
  EXPECT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << "port " << port << " still taken";
  ::close(sock);
}

TEST(SchedHttp, TokensTenantsHoldReleaseAndHeaders) {
  Daemon d("http_auth", "localhost slots=2\n", kTenants, {}, {"--http", "127.0.0.1:0"});
  d.Start();
  EXPECT_NE(d.daemon_log().find("ogai-sched: dashboard at http://127.0.0.1:"), std::string::npos) << d.daemon_log();
  Api api(d);
  const std::string cfg = d.WriteConfig("t.yaml", TestConfig(10));
  const int64_t id = d.Submit("tok-alice", {cfg, "--hold"});
  ASSERT_GT(id, 0);

  // No token, a wrong token: 401 with one line, on reads and writes.
  for (const std::string& tok : {std::string(), std::string("wrong")}) {
    for (const std::string& path : {std::string("/api/jobs"), JobPath(id), JobPath(id, "/metrics"), JobPath(id, "/log"),
                                    std::string("/api/nodes"), std::string("/api/whoami")}) {
      const Reply r = api.Get(path, tok);
      EXPECT_EQ(r.status, 401) << path << " " << r.body;
      EXPECT_TRUE(r.Json().contains("error")) << r.body;
    }
    const Reply r = api.Post(JobPath(id, "/cancel"), tok);
    EXPECT_EQ(r.status, 401) << r.body;
  }
  EXPECT_NE(api.Get("/api/jobs", "").Json()["error"].get<std::string>().find("no token"), std::string::npos);
  EXPECT_NE(api.Get("/api/jobs", "wrong").Json()["error"].get<std::string>().find("the token is not valid"),
            std::string::npos);
  // Another tenant's token: the same answer as the gRPC API (no such job of yours), nothing changed.
  Reply r = api.Post(JobPath(id, "/cancel"), "tok-bob");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.Json().value("error", ""), "no job " + std::to_string(id) + " of tenant 'bob'; `ogai jobs` lists yours");
  EXPECT_EQ(api.Post(JobPath(id, "/release"), "tok-bob").status, 404);
  EXPECT_EQ(api.Get(JobPath(id), "tok-bob").status, 404);
  EXPECT_EQ(api.Get(JobPath(id, "/metrics"), "tok-bob").status, 404);
  EXPECT_EQ(api.Get(JobPath(id, "/log"), "tok-bob").status, 404);
  EXPECT_EQ(d.State(id), "PENDING");
  EXPECT_EQ(d.Reason(id), "Held");
  r = api.Get("/api/jobs?all=1", "tok-bob");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["jobs"].size(), 0u) << r.body;
  // whoami.
  EXPECT_EQ(api.Get("/api/whoami", "tok-alice").Json(), json({{"tenant", "alice"}, {"admin", false}}));
  EXPECT_EQ(api.Get("/api/whoami", d.admin_token()).Json(), json({{"tenant", ""}, {"admin", true}}));
  // Writes are POST only; a large body is refused.
  r = api.Get(JobPath(id, "/cancel"), "tok-alice");
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_EQ(r.Header("Allow"), "POST");
  EXPECT_EQ(api.Post(JobPath(id, "/hold"), "tok-alice", std::string(5000, 'x')).status, 413);
  EXPECT_EQ(d.State(id), "PENDING");

  // The owner's view: the job, held, with its tenant, ranks, reason and submit time.
  r = api.Get("/api/jobs", "tok-alice");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Cache-Control"), "no-store");
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_NE(r.Header("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(r.Header("Access-Control-Allow-Origin"), "");
  json jobs = r.Json()["jobs"];
  ASSERT_EQ(jobs.size(), 1u) << r.body;
  EXPECT_EQ(jobs[0]["id"], std::to_string(id));  // proto3 JSON: int64 as a string
  EXPECT_EQ(jobs[0]["tenant"], "alice");
  EXPECT_EQ(jobs[0]["state"], "PENDING");
  EXPECT_EQ(jobs[0]["reason"], "Held");
  EXPECT_EQ(jobs[0]["ranks"], 1);
  EXPECT_EQ(jobs[0]["held"], true);
  EXPECT_GT(jobs[0]["submit_unix"].get<double>(), 1.7e9);
  // The admin sees it too; bob's view of nodes hides other tenants' job ids.
  EXPECT_EQ(api.Get("/api/jobs", d.admin_token()).Json()["jobs"].size(), 1u);
  r = api.Get("/api/quota", "tok-bob");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["tenants"].size(), 2u) << r.body;
  r = api.Get("/api/nodes", "tok-bob");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["nodes"][0]["slots"], 2) << r.body;

  // Hold (already held) and release: the job runs and completes.
  r = api.Post(JobPath(id, "/hold"), "tok-alice");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["held"], true);
  r = api.Post(JobPath(id, "/release"), "tok-alice");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["held"], false);
  ASSERT_TRUE(WaitApiState(api, d, id, "COMPLETED", 120)) << d.Show(id);
  // Finished jobs show with ?all=1 only; holding a finished job is refused with 400.
  EXPECT_EQ(api.Get("/api/jobs", "tok-alice").Json()["jobs"].size(), 0u);
  EXPECT_EQ(api.Get("/api/jobs?all=1", "tok-alice").Json()["jobs"][0]["state"], "COMPLETED");
  r = api.Post(JobPath(id, "/hold"), "tok-alice");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.Json().value("error", "").find("is COMPLETED: nothing to hold"), std::string::npos) << r.body;

  // The pages carry no data and need no token; unknown paths are 404.
  for (const std::string& page : {std::string("/"), std::string("/jobs"), "/job/" + std::to_string(id)}) {
    r = api.Get(page, "");
    EXPECT_EQ(r.status, 200) << page;
    EXPECT_EQ(r.Header("Content-Type"), "text/html; charset=utf-8") << page;
    EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff");
    EXPECT_NE(r.Header("Content-Security-Policy").find("script-src 'self' 'unsafe-inline'"), std::string::npos);
    EXPECT_EQ(r.body.find("alice"), std::string::npos) << page;
  }
  EXPECT_EQ(api.Get("/api/nope", "tok-alice").status, 404);
  // Without --registry the models API says how to get one.
  r = api.Get("/api/models", "tok-alice");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.Json().value("error", ""), "no registry: start ogai-sched with --registry DIR");
}

TEST(SchedHttp, MetricsGrowLogCheckpointsModelsAndCancelStopsAJob) {
  ogai::testing::TempDir reg("sched_http_registry");
  const std::string root = reg / "registry";
  auto made = ogai::testing::RunChild({launch::testing::BinDir() + "/ogai-model", "--root", root, "ls"}, 60);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  Daemon d("http_jobs", "localhost slots=2\n", kTenants, {}, {"--http", "127.0.0.1:0", "--registry", root});
  d.Start();
  Api api(d);
  const int steps = 150;
  const std::string cfg = d.WriteConfig("t.yaml", TestConfig(steps));
  const std::string long_cfg = d.WriteConfig("long.yaml", TestConfig(100000));
  const int64_t job = d.Submit("tok-alice", {cfg});
  const int64_t forever = d.Submit("tok-alice", {long_cfg});
  ASSERT_TRUE(WaitApiState(api, d, job, "RUNNING", 60)) << d.Show(job);
  ASSERT_TRUE(WaitApiState(api, d, forever, "RUNNING", 60)) << d.Show(forever);
  Reply r = api.Get("/api/jobs", "tok-alice");
  ASSERT_EQ(r.Json()["jobs"].size(), 2u) << r.body;
  for (const auto& j : r.Json()["jobs"]) {
    EXPECT_EQ(j["state"], "RUNNING");
    EXPECT_EQ(j["hosts"], "localhost:1");
  }

  // While a job runs, its series grow (the long job: it runs until it is cancelled below).
  int64_t first = 0, later = 0;
  for (double t = 0; t < 120 && first == 0; t += 0.2, ::usleep(200000)) {
    first = api.Get(JobPath(forever, "/metrics"), "tok-alice").Json().value("steps", int64_t{0});
  }
  ASSERT_GT(first, 0) << "no steps in the metrics while the job runs";
  for (double t = 0; t < 120 && later <= first; t += 0.2, ::usleep(200000)) {
    r = api.Get(JobPath(forever, "/metrics"), "tok-alice");
    later = r.Json().value("steps", int64_t{0});
  }
  EXPECT_GT(later, first) << r.body;
  EXPECT_EQ(r.Json()["done"], false);
  EXPECT_EQ(r.Json()["series"]["step"].size(), static_cast<size_t>(later)) << r.body;

  // Alice cancels her other job with a POST: it stops, its processes go.
  pid_t runpid = 0;
  for (int i = 0; i < 300 && runpid <= 1; ++i, ::usleep(100000)) {
    runpid = std::atoi(ogai::testing::ReadText(d.JobDir(forever) + "/a.1.runpid").c_str());
  }
  ASSERT_GT(runpid, 1) << "no a.1.runpid";
  const auto before = JobProcesses(d, forever, 0);
  ASSERT_GE(before.size(), 3u) << "expected the supervisor, ogai-run and a rank: " << launch::testing::Describe(before);
  r = api.Post(JobPath(forever, "/cancel"), "tok-alice");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["id"], std::to_string(forever));
  ASSERT_TRUE(WaitApiState(api, d, forever, "CANCELLED", 60)) << d.Show(forever);
  const auto left = JobProcesses(d, forever, 20);
  EXPECT_TRUE(left.empty()) << "the cancelled job's processes: " << launch::testing::Describe(left);

  // The finished job: every step in the series (fewer steps than points), its checkpoints,
  // its log, and done.
  ASSERT_TRUE(WaitApiState(api, d, job, "COMPLETED", 240)) << d.Show(job);
  const auto done_left = JobProcesses(d, job, 20);
  EXPECT_TRUE(done_left.empty()) << launch::testing::Describe(done_left);
  const std::string mfile = d.JobDir(job) + "/metrics.a1.rank0.jsonl";
  const auto file = recovery_testing::ReadMetrics(mfile);
  ASSERT_EQ(file.final.size(), static_cast<size_t>(steps));
  r = api.Get(JobPath(job, "/metrics?points=5000"), "tok-alice");
  ASSERT_EQ(r.status, 200) << r.body;
  json m = r.Json();
  EXPECT_EQ(m["steps"], steps);
  EXPECT_EQ(m["done"], true);
  EXPECT_EQ(m["finished"], true);
  EXPECT_EQ(m["series"]["step"].size(), static_cast<size_t>(steps));
  for (const char* k :
       {"loss", "val_loss", "val_bits_per_byte", "tokens_per_s", "step_ms", "lr", "grad_norm", "dp_exposed_ms"}) {
    EXPECT_EQ(m["series"][k].size(), static_cast<size_t>(steps)) << k;
  }
  EXPECT_EQ(m["series"]["step"][0], 1);
  EXPECT_EQ(m["series"]["step"][steps - 1], steps);
  EXPECT_EQ(m["series"]["loss"][steps - 1].get<double>(), file.final.at(steps).loss);
  EXPECT_GT(m["series"]["tokens_per_s"][0].get<double>(), 0);
  int marks = 0;
  for (const auto& k : m["marks"]) marks += k["kind"] == "checkpoint";
  EXPECT_GE(marks, steps / 5 - 1) << m["marks"].dump();  // checkpoint.every_steps: 5
  // points below the steps: downsampled to at most that many.
  r = api.Get(JobPath(job, "/metrics?points=10"), "tok-alice");
  EXPECT_LE(r.Json()["series"]["step"].size(), 10u) << r.body;
  EXPECT_EQ(api.Get(JobPath(job, "/metrics?points=ten"), "tok-alice").status, 400);

  r = api.Get(JobPath(job), "tok-alice");
  ASSERT_EQ(r.status, 200) << r.body;
  json info = r.Json();
  EXPECT_EQ(info["metrics_file"], mfile);
  ASSERT_FALSE(info["checkpoints"].empty()) << r.body;
  EXPECT_EQ(info["checkpoints"].back()["step"], steps);
  EXPECT_FALSE(info["events"].empty()) << r.body;

  std::string log;
  int64_t offset = 0;
  for (int i = 0; i < 1000; ++i) {
    r = api.Get(JobPath(job, "/log?offset=" + std::to_string(offset)), "tok-alice");
    ASSERT_EQ(r.status, 200) << r.body;
    log += r.Json()["text"].get<std::string>();
    offset = r.Json()["offset"].get<int64_t>();
    if (r.Json()["eof"].get<bool>()) break;
  }
  EXPECT_EQ(log, ogai::testing::ReadText(d.JobDir(job) + "/output.log"));
  EXPECT_NE(log.find("done: " + std::to_string(steps) + " steps"), std::string::npos) << log;
  EXPECT_EQ(api.Get(JobPath(job, "/log?offset=-1"), "tok-alice").status, 400);

  // The registry: the job's last checkpoint registered, then seen through the API.
  const std::string ck = info["checkpoints"].back()["path"];
  auto reg_out = ogai::testing::RunChild(
      {launch::testing::BinDir() + "/ogai-model", "--root", root, "register", ck, "--name", "tiny", "--alias", "best"},
      120);
  ASSERT_EQ(reg_out.exit_code, 0) << reg_out.output;
  r = api.Get("/api/models", "tok-bob");
  ASSERT_EQ(r.status, 200) << r.body;
  json models = r.Json()["models"];
  ASSERT_EQ(models.size(), 1u) << r.body;
  EXPECT_EQ(models[0]["name"], "tiny");
  ASSERT_EQ(models[0]["versions"].size(), 1u);
  EXPECT_EQ(models[0]["versions"][0]["ref"], "tiny@1");
  EXPECT_EQ(models[0]["versions"][0]["aliases"], json::array({"best"}));
  EXPECT_EQ(models[0]["versions"][0]["lineage"]["step"], steps);
  EXPECT_EQ(models[0]["versions"][0]["config"]["d_model"], 128);
}

// A long run's metrics file (100,000 steps, a one-step spike) as the API serves it: at most the
// points asked for, the spike kept, and the cache following the file as it grows.
TEST(SchedHttp, AHundredThousandStepsAreDownsampledAndFollowed) {
  ogai::testing::TempDir dir("sched_http_metrics");
  const std::string path = dir / "metrics.a1.rank0.jsonl";
  const int n = 100000;
  {
    std::ofstream f(path);
    f << R"({"start": {"rank": 0, "restart": 0, "world": 1, "resume_step": 0, "started_unix_ms": 1000}})"
      << "\n";
    f << R"({"config": {"yaml": "model: {seq_len: 64}\ntrain: {steps: 200000, global_batch: 8}\n"}})"
      << "\n";
    for (int s = 1; s <= n; ++s) {
      const double loss = s == 54321 ? 99.0 : 5.0 - s * 1e-5;
      f << R"({"step": )" << s << R"(, "loss": )" << loss << R"(, "lr": 0.001, "grad_norm": 1.5, "ms": 20, )"
        << R"("dp_exposed_ms": 0.5, "restart": 0, "unix_ms": )" << 1000 + s << "}\n";
      if (s % 10000 == 0)
        f << R"({"checkpoint": {"step": )" << s << R"(, "path": "ck", "unix_ms": 5}})"
          << "\n";
    }
  }
  sched::MetricsCache cache;
  for (size_t points : {10u, 1000u, 5000u}) {
    const json m = json::parse(cache.Series({path}, points, false)->body);
    EXPECT_EQ(m["steps"], n);
    const size_t got = m["series"]["step"].size();
    EXPECT_LE(got, points);
    EXPECT_GE(got, points / 2) << "far fewer points than asked for";
    double top = 0;
    for (const auto& v : m["series"]["loss"]) top = std::max(top, v.get<double>());
    EXPECT_EQ(top, 99.0) << "the one-step spike was lost (points " << points << ")";
    EXPECT_EQ(m["series"]["tokens_per_s"][0].get<double>(), 64 * 8 / 0.02);
    EXPECT_EQ(m["marks"].size(), 10u);
  }
  // Appended steps are read (only the new bytes) and answered.
  {
    std::ofstream f(path, std::ios::app);
    f << R"({"step": 100001, "loss": 1.0, "ms": 20, "unix_ms": 2})"
      << "\n"
      << R"({"step": 100002, "lo)";
  }
  json m = json::parse(cache.Series({path}, 1000, false)->body);
  EXPECT_EQ(m["steps"], n + 1) << "a line still being written is not read";
  EXPECT_EQ(m["series"]["step"].back(), n + 1);
  {
    std::ofstream f(path, std::ios::app);
    f << R"(ss": 0.5, "ms": 20, "unix_ms": 3})"
      << "\n";
  }
  m = json::parse(cache.Series({path}, 1000, true)->body);
  EXPECT_EQ(m["steps"], n + 2);
  EXPECT_EQ(m["series"]["loss"].back(), 0.5);
  EXPECT_EQ(m["done"], true);
  // The same answer as reading the whole file afresh.
  sched::MetricsCache fresh;
  EXPECT_EQ(json::parse(fresh.Series({path}, 1000, true)->body), m);
}

// A job preempted (or requeued) runs again in a new attempt with a file of its own: the series
// are the attempts together, per step the later attempt's line, with a mark where it resumed.
TEST(SchedHttp, AJobsAttemptsMakeOneSeries) {
  ogai::testing::TempDir dir("sched_http_attempts");
  auto write = [&](int attempt, int from, int to, double loss) {
    std::ofstream f(dir / ("metrics.a" + std::to_string(attempt) + ".rank0.jsonl"));
    f << R"({"start": {"rank": 0, "restart": 0, "resume_step": )" << from - 1 << R"(, "started_unix_ms": )"
      << attempt * 1000 << "}}\n";
    for (int s = from; s <= to; ++s)
      f << R"({"step": )" << s << R"(, "loss": )" << loss << R"(, "ms": 10})"
        << "\n";
  };
  write(1, 1, 60, 3.0);  // preempted after step 60; its checkpoint was at 50
  write(2, 51, 100, 2.0);
  sched::MetricsCache cache;
  const std::vector<std::string> files = {dir / "metrics.a1.rank0.jsonl", dir / "metrics.a2.rank0.jsonl",
                                          dir / "metrics.a3.rank0.jsonl"};  // not written yet
  const json m = json::parse(cache.Series(files, 1000, false)->body);
  EXPECT_EQ(m["steps"], 100);
  EXPECT_EQ(m["attempts"], 2);
  ASSERT_EQ(m["series"]["step"].size(), 100u);
  EXPECT_EQ(m["series"]["loss"][49], 3.0);  // step 50: attempt 1
  EXPECT_EQ(m["series"]["loss"][50], 2.0);  // step 51: attempt 2 redid it
  EXPECT_EQ(m["series"]["loss"][59], 2.0);
  ASSERT_EQ(m["marks"].size(), 1u) << m["marks"].dump();
  EXPECT_EQ(m["marks"][0], json({{"kind", "attempt"}, {"attempt", 2}, {"step", 50}, {"t", 2.0}}));
  // No file yet: no steps.
  EXPECT_EQ(json::parse(cache.Series({dir / "none.jsonl"}, 1000, false)->body)["steps"], 0);
}

}  // namespace
}  // namespace ogai::sched_testing
