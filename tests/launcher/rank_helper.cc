// rank_helper: a program the launcher tests run as their ranks. Each mode exercises one
// thing ogai-run must handle; every mode first prints "ready rank=R pid=P ppid=Q" on stdout
// (so a test can find and signal ranks and their agents) unless --quiet is given.
//
//   rank_helper [--quiet] contract               print the detected rank contract, exit 0
//   rank_helper env VAR...                       print VAR=value for each, exit 0
//   rank_helper exit CODE [RANK]                 exit CODE (only on RANK, if given; others 0)
//   rank_helper sleep SECONDS                    sleep, exit 0
//   rank_helper heartbeat STEPS MS [HANG_RANK HANG_STEP]
//                                                report STEPS steps, one every MS ms; HANG_RANK
//                                                stops reporting at HANG_STEP and sleeps
//   rank_helper orphan SECONDS                   leave a double-forked, setsid'ed grandchild
//                                                sleeping SECONDS, exit 0
//   rank_helper ignore-term SECONDS              ignore SIGTERM and SIGINT, sleep
//   rank_helper chunks LINES LEN                 write LINES lines of LEN chars, each line in
//                                                three write() calls with pauses between
//   rank_helper restart-fail CODE UNTIL          exit CODE on rank 0 while OGAI_RESTART_COUNT
//                                                < UNTIL, else exit 0
//   rank_helper stderr-then-exit CODE RANK       RANK writes three stderr lines, exits CODE
//   rank_helper wait-restart SECONDS             in round 0 sleep SECONDS; later rounds exit 0
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "rank/rank_env.h"

namespace {

int Rank() {
  const char* r = std::getenv("RANK");
  if (r == nullptr) r = std::getenv("SLURM_PROCID");
  if (r == nullptr) r = std::getenv("OMPI_COMM_WORLD_RANK");
  return r != nullptr ? std::atoi(r) : 0;
}

void SleepSeconds(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

void Say(const std::string& s) {
  std::string line = s + "\n";
  ssize_t w = ::write(1, line.data(), line.size());
  (void)w;
}

}  // namespace

int main(int argc, char** argv) {
  int i = 1;
  bool quiet = false;
  if (i < argc && std::strcmp(argv[i], "--quiet") == 0) {
    quiet = true;
    ++i;
  }
  if (i >= argc) {
    std::fprintf(stderr, "usage: rank_helper MODE ARGS (see the source)\n");
    return 2;
  }
  std::string mode = argv[i++];
  auto arg = [&](int k, const char* dflt) -> std::string { return i + k < argc ? argv[i + k] : dflt; };
  int rank = Rank();
  if (!quiet) {
    Say("ready rank=" + std::to_string(rank) + " pid=" + std::to_string(::getpid()) +
        " ppid=" + std::to_string(::getppid()));
  }
  if (mode == "contract") {
    auto env = ogai::launch::DetectRankEnv();
    if (!env.ok()) {
      std::fprintf(stderr, "%s\n", env.status().ToString().c_str());
      return 3;
    }
    Say("contract " + env->Describe() + " master=" + env->master_addr + ":" + std::to_string(env->master_port) +
        " token=" + (env->store_token.empty() ? "no" : "yes"));
    return 0;
  }
  if (mode == "env") {
    for (int k = i; k < argc; ++k) {
      const char* v = std::getenv(argv[k]);
      Say("rank " + std::to_string(rank) + " " + argv[k] + "=" + (v ? v : "<unset>"));
    }
    return 0;
  }
  if (mode == "exit") {
    int code = std::atoi(arg(0, "0").c_str());
    std::string only = arg(1, "");
    if (!only.empty() && std::atoi(only.c_str()) != rank) return 0;
    return code;
  }
  if (mode == "sleep") {
    SleepSeconds(std::atof(arg(0, "1").c_str()));
    return 0;
  }
  if (mode == "heartbeat") {
    auto rep = ogai::launch::ProgressReporter::FromEnv();
    if (!rep.ok()) {
      std::fprintf(stderr, "%s\n", rep.status().ToString().c_str());
      return 3;
    }
    long steps = std::atol(arg(0, "10").c_str());
    double ms = std::atof(arg(1, "50").c_str());
    int hang_rank = std::atoi(arg(2, "-1").c_str());
    long hang_step = std::atol(arg(3, "-1").c_str());
    for (long s = 0; s < steps; ++s) {
      if (rank == hang_rank && s == hang_step) {
        Say("rank " + std::to_string(rank) + " hangs at step " + std::to_string(s));
        SleepSeconds(3600);
      }
      (*rep)->Report(s);
      SleepSeconds(ms / 1000.0);
    }
    Say("rank " + std::to_string(rank) + " done " + std::to_string(steps) + " steps");
    return 0;
  }
  if (mode == "orphan") {
    double secs = std::atof(arg(0, "60").c_str());
    pid_t p = ::fork();
    if (p == 0) {
      ::setsid();
      if (::fork() == 0) {
        SleepSeconds(secs);
        ::_exit(0);
      }
      ::_exit(0);
    }
    int st;
    ::waitpid(p, &st, 0);
    return 0;
  }
  if (mode == "ignore-term") {
    ::signal(SIGTERM, SIG_IGN);
    ::signal(SIGINT, SIG_IGN);
    Say("rank " + std::to_string(rank) + " ignores SIGTERM");
    SleepSeconds(std::atof(arg(0, "60").c_str()));
    return 0;
  }
  if (mode == "chunks") {
    int lines = std::atoi(arg(0, "50").c_str());
    int len = std::atoi(arg(1, "300").c_str());
    std::string body(static_cast<size_t>(len), static_cast<char>('a' + rank % 26));
    std::string line = "rank" + std::to_string(rank) + ":" + body + ":end";
    size_t third = line.size() / 3;
    for (int l = 0; l < lines; ++l) {
      ssize_t w = ::write(1, line.data(), third);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      w = ::write(1, line.data() + third, third);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      std::string rest = line.substr(2 * third) + "\n";
      w = ::write(1, rest.data(), rest.size());
      (void)w;
    }
    return 0;
  }
  if (mode == "restart-fail") {
    int code = std::atoi(arg(0, "5").c_str());
    int until = std::atoi(arg(1, "1").c_str());
    const char* rc = std::getenv("OGAI_RESTART_COUNT");
    int restart = rc != nullptr ? std::atoi(rc) : 0;
    Say("rank " + std::to_string(rank) + " restart " + std::to_string(restart));
    if (rank == 0 && restart < until) return code;
    SleepSeconds(0.2);
    return 0;
  }
  if (mode == "stderr-then-exit") {
    int code = std::atoi(arg(0, "1").c_str());
    int who = std::atoi(arg(1, "0").c_str());
    if (rank != who) {
      SleepSeconds(60);
      return 0;
    }
    for (int k = 1; k <= 3; ++k) std::fprintf(stderr, "problem line %d of rank %d\n", k, rank);
    std::fflush(stderr);
    return code;
  }
  if (mode == "wait-restart") {
    const char* rc = std::getenv("OGAI_RESTART_COUNT");
    int restart = rc != nullptr ? std::atoi(rc) : 0;
    Say("rank " + std::to_string(rank) + " round " + std::to_string(restart) + " node " +
        (std::getenv("NODE_RANK") ? std::getenv("NODE_RANK") : "?"));
    if (restart == 0) SleepSeconds(std::atof(arg(0, "60").c_str()));
    return 0;
  }
  std::fprintf(stderr, "rank_helper: unknown mode '%s'\n", mode.c_str());
  return 2;
}
