#include "tests/sched/sched_util.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace ogai::sched_testing {

namespace fs = std::filesystem;
using launch::testing::BinDir;

namespace {
std::string Field(const std::string& show, const std::string& key) {
  const size_t at = show.find("  " + key + ":");
  if (at == std::string::npos) return "";
  size_t b = show.find_first_not_of(' ', at + key.size() + 3);
  const size_t e = show.find('\n', b);
  return show.substr(b, e - b);
}
}  // namespace

Daemon::Daemon(const std::string& tag, const std::string& pool, const std::string& tenants,
               const std::vector<std::string>& env, const std::vector<std::string>& flags)
    : dir_("sched_" + tag), mark_(launch::testing::NewMark()), env_(env), flags_(flags) {
  testing::WriteFile(dir_ / "pool", pool);
  testing::WriteFile(dir_ / "tenants.yaml", tenants);
  env_.push_back("OGAI_TEST_MARK=" + mark_);
  env_.push_back("OMP_NUM_THREADS=1");
}

void Daemon::Start() {
  std::vector<std::string> argv = {BinDir() + "/ogai-sched", "--state",   state(), "--pool", dir_ / "pool", "--tenants",
                                   dir_ / "tenants.yaml",    "--tick-ms", "100",   "-v"};
  argv.insert(argv.end(), flags_.begin(), flags_.end());
  child_ = launch::testing::Child::Start(argv, env_);
  ASSERT_TRUE(child_->WaitForStdout([](const std::string& o) { return o.find("listening") != std::string::npos; }, 30))
      << child_->out() << child_->err();
}

void Daemon::Kill9() {
  ASSERT_NE(child_, nullptr);
  child_->Kill();
}

std::string Daemon::daemon_log() const { return child_ ? child_->out() + child_->err() : ""; }

Daemon::~Daemon() {
  if (child_) {
    child_->Signal(SIGTERM);
    child_->Wait(30);
  }
  // Stop every attempt still running (the daemon leaves jobs running when it stops).
  std::error_code ec;
  for (const auto& job : fs::directory_iterator(state() + "/jobs", ec)) {
    for (const auto& f : fs::directory_iterator(job.path(), ec)) {
      const std::string name = f.path().filename();
      if (name.size() > 7 && name.substr(name.size() - 7) == ".runpid") {
        const pid_t p = std::atoi(ogai::testing::ReadText(f.path()).c_str());
        if (p > 1) ::kill(p, SIGTERM);
      }
    }
  }
  const auto left = launch::testing::Survivors(mark_, 20);
  EXPECT_TRUE(left.empty()) << "left behind: " << launch::testing::Describe(left);
  for (pid_t p : left) ::kill(p, SIGKILL);
}

std::string Daemon::admin_token() const {
  std::string t = ogai::testing::ReadText(state() + "/admin.token");
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t;
}

RunResult Daemon::Ogai(const std::string& token, const std::vector<std::string>& args, double timeout) {
  std::vector<std::string> argv = {BinDir() + "/ogai"};
  argv.insert(argv.end(), args.begin(), args.end());
  return launch::testing::RunCommand(argv, {"OGAI_SCHED=unix:" + state() + "/sched.sock", "OGAI_SCHED_TOKEN=" + token},
                                     timeout);
}

int64_t Daemon::Submit(const std::string& token, const std::vector<std::string>& args) {
  std::vector<std::string> a = {"submit"};
  a.insert(a.end(), args.begin(), args.end());
  const RunResult r = Ogai(token, a);
  const std::string prefix = "submitted job ";
  const size_t at = r.out.find(prefix);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  if (r.code != 0 || at == std::string::npos) return 0;
  return std::atoll(r.out.c_str() + at + prefix.size());
}

std::string Daemon::Show(int64_t id) {
  const RunResult r = Ogai(admin_token(), {"show", std::to_string(id)});
  return r.code == 0 ? r.out : "";
}

std::string Daemon::State(int64_t id) {
  std::string s = Field(Show(id), "state");
  const size_t cut = s.find_first_of(" ,");
  return cut == std::string::npos ? s : s.substr(0, cut);
}

std::string Daemon::Reason(int64_t id) {
  const std::string s = Field(Show(id), "state");
  const size_t comma = s.find(", ");
  return comma == std::string::npos ? "" : s.substr(comma + 2);
}

bool Daemon::WaitState(int64_t id, const std::string& state, double timeout) {
  for (double t = 0; t < timeout; t += 0.2) {
    if (State(id) == state) return true;
    ::usleep(200000);
  }
  return false;
}

std::string Daemon::WriteConfig(const std::string& name, const std::string& yaml) {
  testing::WriteFile(dir_ / name, yaml);
  return dir_ / name;
}

}  // namespace ogai::sched_testing
