// ogai: the scheduler's command line (docs/scheduler.md), with the habits of Slurm and kubectl.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "core/file_io.h"
#include "core/knobs.h"
#include "core/log.h"
#include "launcher/remote.h"
#include "proto/sched.grpc.pb.h"
#include "sched/cli_format.h"
#include "sched/tls_files.h"

namespace {

using namespace ogai;
namespace pb = ogai::sched::pb;

constexpr const char* kDefaultAddress = "unix:/var/lib/ogai-sched/sched.sock";
constexpr const char* kUsage = R"(usage: ogai [--sched ADDR] [--token TOKEN] [--ca CERT.pem] COMMAND ...

  submit train.yaml [-np N] [--tenant T] [--priority P] [--min-runtime 10m]
         [--max-requeues K] [--max-restarts K] [--name NAME] [--hold] [key=value ...]
  jobs [-a]            pending and running jobs (-a: finished ones too), with a REASON column
  show ID              one job: state, placement, progress, history
  cancel ID            stop it (it is not requeued)
  hold ID | release ID keep a pending job from starting / let it start
  logs ID [-f]         its output (-f: follow until it ends)
  nodes                the pool: slots, use, up or down and why
  quota                tenants: quota, borrow limit, use, decayed usage
  report RUN_DIR_OR_METRICS [--out report.html]
                       one self-contained HTML page of a run's curves (ogai-report; no daemon)

  ADDR: unix:PATH or HOST:PORT (default $OGAI_SCHED, else unix:/var/lib/ogai-sched/sched.sock)
  TOKEN: your tenant's token or the admin token (default $OGAI_SCHED_TOKEN)
  CERT.pem: the CA (or the self-signed certificate) of a daemon that serves TLS on HOST:PORT
            (ogai-sched --listen-cert); default $OGAI_SCHED_CA, else plain gRPC
)";

int Fail(const std::string& msg, int code = 2) {
  Print("ogai: " + msg + "\n");
  return code;
}

// `ogai report ...` is web/'s ogai-report, installed beside this program: it needs no daemon.
int Report(const std::vector<std::string>& args) {
  const std::string self = launch::SelfExecutable();
  const std::string prog = self.substr(0, self.rfind('/') + 1) + "ogai-report";
  std::vector<char*> argv = {const_cast<char*>(prog.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(prog.c_str(), argv.data());
  return Fail(
      "cannot run " + prog + ": " + std::strerror(errno) + " (build it: cmake --build build --target ogai-report)", 1);
}

struct Cli {
  std::string address;
  std::string token;
  std::string ca;  // a PEM file: TLS, trusting it
  std::unique_ptr<pb::Scheduler::Stub> stub;

  void Prepare(grpc::ClientContext* ctx, int seconds = 30) {
    ctx->AddMetadata("authorization", token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  }
  // One line for a failed call; exit code 1 (2 for what the user must change).
  int Error(const grpc::Status& st) {
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE || st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      const bool tcp = address.rfind("unix:", 0) != 0;
      const std::string tls = !tcp         ? ""
                              : ca.empty() ? "; if it serves TLS (ogai-sched --listen-cert), give its CA with --ca"
                                           : "; or its certificate is not one that --ca " + ca + " vouches for";
      return Fail("no scheduler answers at " + address +
                      ": start one with `ogai-sched --state DIR` (its socket is DIR/sched.sock) or point OGAI_SCHED "
                      "(or --sched) at it" +
                      tls,
                  1);
    }
    return Fail(st.error_message(), st.error_code() == grpc::StatusCode::INTERNAL ? 1 : 2);
  }
};

// "90", "90s", "10m", "2h" -> seconds; -1 when malformed.
double ParseDuration(const std::string& s) {
  if (s.empty()) return -1;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  const std::string unit = end;
  if (end == s.c_str() || v < 0) return -1;
  if (unit.empty() || unit == "s") return v;
  if (unit == "m") return v * 60;
  if (unit == "h") return v * 3600;
  return -1;
}

int Submit(Cli& cli, const std::vector<std::string>& args) {
  pb::SubmitRequest r;
  r.set_max_requeues(-1);
  std::string path;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "-np" || a == "-n" || a == "--np") {
      if (!value(&v) || std::atoi(v.c_str()) <= 0) return Fail("submit: -np needs a positive number of ranks");
      r.set_np(std::atoi(v.c_str()));
    } else if (a == "--tenant") {
      if (!value(&v)) return Fail("submit: --tenant needs a name");
      r.set_tenant(v);
    } else if (a == "--priority") {
      if (!value(&v)) return Fail("submit: --priority needs a number");
      r.set_priority(std::atoi(v.c_str()));
    } else if (a == "--min-runtime") {
      if (!value(&v) || ParseDuration(v) < 0) return Fail("submit: --min-runtime needs a duration: 90s, 10m, 2h");
      r.set_min_runtime_s(ParseDuration(v));
    } else if (a == "--max-requeues") {
      if (!value(&v)) return Fail("submit: --max-requeues needs a number");
      r.set_max_requeues(std::atoi(v.c_str()));
    } else if (a == "--max-restarts") {
      if (!value(&v)) return Fail("submit: --max-restarts needs a number");
      r.set_max_restarts(std::atoi(v.c_str()));
    } else if (a == "--name") {
      if (!value(&v)) return Fail("submit: --name needs a name");
      r.set_name(v);
    } else if (a == "--hold") {
      r.set_hold(true);
    } else if (a.find('=') != std::string::npos && a[0] != '-') {
      r.add_overrides(a);
    } else if (path.empty() && a[0] != '-') {
      path = a;
    } else {
      return Fail("submit: unexpected '" + a + "' (ogai --help)");
    }
  }
  if (path.empty()) return Fail("submit: name the train.yaml to run: ogai submit train.yaml [-np N] [key=value ...]");
  auto config_yaml = ReadFile(path);
  if (!config_yaml.ok()) return Fail("submit: " + config_yaml.status().message());
  r.set_config_yaml(*config_yaml);
  r.set_config_name(path);
  grpc::ClientContext ctx;
  cli.Prepare(&ctx);
  pb::SubmitReply out;
  grpc::Status st = cli.stub->Submit(&ctx, r, &out);
  if (!st.ok()) return cli.Error(st);
  Print("submitted job " + std::to_string(out.id()) + "\n");
  return 0;
}

int Follow(Cli& cli, int64_t id, bool follow) {
  int64_t offset = 0;
  while (true) {
    grpc::ClientContext ctx;
    cli.Prepare(&ctx);
    pb::LogsRequest r;
    r.set_id(id);
    r.set_offset(offset);
    pb::LogsReply out;
    grpc::Status st = cli.stub->Logs(&ctx, r, &out);
    if (!st.ok()) return cli.Error(st);
    if (!out.data().empty()) Print(out.data());
    offset = out.next_offset();
    if (out.done() || (!follow && out.data().size() < (1u << 16))) return 0;
    if (out.data().empty()) ::usleep(300000);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli;
  ogai::SetLogProcessName("ogai");
  cli.address = KnobText("OGAI_SCHED").value_or(kDefaultAddress);
  cli.token = KnobText("OGAI_SCHED_TOKEN").value_or("");
  cli.ca = KnobText("OGAI_SCHED_CA").value_or("");
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (args.empty() && (a == "--sched" || a == "--token" || a == "--ca") && i + 1 < argc) {
      (a == "--sched" ? cli.address : a == "--token" ? cli.token : cli.ca) = argv[++i];
    } else if (args.empty() && (a == "-h" || a == "--help")) {
      Print(kUsage);
      return 0;
    } else {
      args.push_back(a);
    }
  }
  if (args.empty())
    return Fail("name a command: submit, jobs, show, cancel, hold, release, logs, nodes, quota, report (ogai --help)");
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "report") return Report(args);
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!cli.ca.empty()) {
    if (cli.address.rfind("unix:", 0) == 0) return Fail("--ca is for a daemon on HOST:PORT, not " + cli.address);
    auto pem = sched::ReadPemCertificate("--ca", cli.ca);
    if (!pem.ok()) return Fail(pem.status().message());
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = *pem;
    creds = grpc::SslCredentials(o);
  }
  cli.stub = pb::Scheduler::NewStub(grpc::CreateChannel(cli.address, creds));
  auto need_id = [&](int64_t* id) {
    if (args.size() != 1 && !(cmd == "logs" && args.size() == 2)) return false;
    char* end = nullptr;
    *id = std::strtoll(args[0].c_str(), &end, 10);
    return *end == '\0' && *id > 0;
  };
  int64_t id = 0;
  grpc::ClientContext ctx;
  cli.Prepare(&ctx);
  if (cmd == "submit") return Submit(cli, args);
  if (cmd == "jobs") {
    const bool all = args.size() == 1 && (args[0] == "-a" || args[0] == "--all");
    if (!args.empty() && !all) return Fail("jobs: unknown argument '" + args[0] + "'; ogai jobs [-a|--all]", 2);
    pb::JobsRequest r;
    r.set_all(all);
    pb::JobsReply out;
    grpc::Status st = cli.stub->Jobs(&ctx, r, &out);
    if (!st.ok()) return cli.Error(st);
    Print(sched::FormatJobs(out, std::time(nullptr)));
    return 0;
  }
  if (cmd == "show" || cmd == "cancel" || cmd == "hold" || cmd == "release") {
    if (!need_id(&id)) return Fail(cmd + ": name one job id (ogai jobs lists them)");
    pb::JobRef r;
    r.set_id(id);
    pb::JobInfo out;
    grpc::Status st = cmd == "show"     ? cli.stub->Show(&ctx, r, &out)
                      : cmd == "cancel" ? cli.stub->Cancel(&ctx, r, &out)
                      : cmd == "hold"   ? cli.stub->Hold(&ctx, r, &out)
                                        : cli.stub->Release(&ctx, r, &out);
    if (!st.ok()) return cli.Error(st);
    Print(cmd == "show" ? sched::FormatJob(out)
                        : "job " + std::to_string(id) + ": " + out.state() + (out.held() ? " (held)" : "") + "\n");
    return 0;
  }
  if (cmd == "logs") {
    if (!need_id(&id)) return Fail("logs: name one job id: ogai logs ID [-f]");
    return Follow(cli, id, args.size() == 2 && args[1] == "-f");
  }
  if (cmd == "nodes" || cmd == "quota") {
    pb::Empty e;
    if (cmd == "nodes") {
      pb::NodesReply out;
      grpc::Status st = cli.stub->Nodes(&ctx, e, &out);
      if (!st.ok()) return cli.Error(st);
      Print(sched::FormatNodes(out));
    } else {
      pb::QuotaReply out;
      grpc::Status st = cli.stub->Quota(&ctx, e, &out);
      if (!st.ok()) return cli.Error(st);
      Print(sched::FormatQuota(out));
    }
    return 0;
  }
  return Fail("unknown command '" + cmd + "': submit, jobs, show, cancel, hold, release, logs, nodes, quota");
}
