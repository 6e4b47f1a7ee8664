// ogai-bench launch: how long a launcher takes to get N ranks going.
//
// For each N, runs the same rank program under ogai-run and under the system's mpirun,
// alternating, --runs times each, and reports the median of
//   barrier: start of the launcher -> the last rank past its first MPI_Barrier (after
//            MPI_Init), from CLOCK_REALTIME stamps the ranks print;
//   exit:    start of the launcher -> the launcher has exited;
// and the ratio ogai-run / mpirun. With --store it also times ogai-run with the ranks meeting
// in ogai's store instead of MPI (what ogai-worker does), which mpirun cannot run.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "bench/command.h"
#include "bench/stats.h"
#include "launcher/node_runner.h"
#include "launcher/process.h"
#include "launcher/remote.h"

namespace ogai::bench {
namespace {

constexpr const char* kUsage =
    "usage: ogai-bench launch [-np N ...] [--runs R] [--store] [--mpirun PATH]\n"
    "  -np N        number of ranks; repeat for several sizes (default: 8 and 16)\n"
    "  --runs R     runs per launcher and size; the median is reported (default 5)\n"
    "  --store      also time ogai-run with ranks meeting in the store instead of MPI\n"
    "  --mpirun P   the mpirun to compare with (default: mpirun in PATH)\n"
    "Each run starts the launcher, the ranks print when they are past their first barrier,\n"
    "and the time from start to the last of them is the 'barrier' figure.\n";

long long RealtimeNs() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

struct Sample {
  bool ok = false;
  double barrier_s = 0;
  double exit_s = 0;
  std::string error;
};

Sample RunOnce(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env, int n) {
  Sample s;
  int outp[2];
  if (::pipe2(outp, O_CLOEXEC) != 0) {
    s.error = "pipe failed";
    return s;
  }
  launch::SpawnRequest req;
  req.argv = argv;
  req.env = launch::RankBaseEnv(launch::OwnEnvironment(), extra_env);
  req.stdout_fd = outp[1];
  req.stderr_fd = outp[1];
  long long t0 = RealtimeNs();
  auto pid = launch::Spawn(req);
  ::close(outp[1]);
  if (!pid.ok()) {
    ::close(outp[0]);
    s.error = pid.status().ToString();
    return s;
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t r = ::read(outp[0], buf, sizeof buf);
    if (r > 0) {
      out.append(buf, static_cast<size_t>(r));
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    break;
  }
  ::close(outp[0]);
  int st = 0;
  ::waitpid(*pid, &st, 0);
  long long t_exit = RealtimeNs();
  long long last = 0;
  int seen = 0;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    int rank = 0;
    long long ns = 0;
    if (std::sscanf(line.c_str(), "barrier %d %lld", &rank, &ns) == 2) {
      ++seen;
      last = std::max(last, ns);
    }
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || seen != n) {
    s.error = argv[0] + " exited with " + launch::DescribeWaitStatus(st) + ", " + std::to_string(seen) + " of " +
              std::to_string(n) + " ranks passed the barrier:\n" + out.substr(0, 2000);
    return s;
  }
  s.ok = true;
  s.barrier_s = static_cast<double>(last - t0) * 1e-9;
  s.exit_s = static_cast<double>(t_exit - t0) * 1e-9;
  return s;
}

int RunLaunch(int argc, char** argv) {
  std::vector<int> sizes;
  int runs = 5;
  bool with_store = false;
  std::string mpirun = "mpirun";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool takes_value = a == "-np" || a == "-n" || a == "--np" || a == "--runs" || a == "--mpirun";
    if (takes_value && i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n%s", a.c_str(), kUsage);
      return 2;
    }
    auto value = [&]() -> std::string { return argv[++i]; };
    if (a == "-np" || a == "-n" || a == "--np") {
      sizes.push_back(std::atoi(value().c_str()));
    } else if (a == "--runs") {
      runs = std::atoi(value().c_str());
    } else if (a == "--store") {
      with_store = true;
    } else if (a == "--mpirun") {
      mpirun = value();
    } else if (a == "-h" || a == "--help") {
      std::printf("%s", kUsage);
      return 0;
    } else {
      std::fprintf(stderr, "unknown option '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (sizes.empty()) sizes = {8, 16};
  for (int n : sizes) {
    if (n < 1) {
      std::fprintf(stderr, "-np must be at least 1\n");
      return 2;
    }
  }
  if (runs < 1) {
    std::fprintf(stderr, "--runs must be at least 1\n");
    return 2;
  }
  std::string bin = std::filesystem::path(launch::SelfExecutable()).parent_path().string();
  std::string ogai_run = bin + "/ogai-run";
  std::string barrier = bin + "/ogai-bench-barrier";
  for (const std::string& p : {ogai_run, barrier}) {
    if (::access(p.c_str(), X_OK) != 0) {
      std::fprintf(stderr, "%s not found: build ogai (it sits next to ogai-bench)\n", p.c_str());
      return 1;
    }
  }
  std::vector<std::string> env;
  if (::geteuid() == 0) {
    env = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"};
  }
  long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  std::printf(
      "ogai-bench launch: start -> every rank past its first barrier, median of %d runs\n"
      "  rank program: %s (MPI_Init + MPI_Barrier); %ld CPU(s); launchers alternate\n"
      "  mpirun: %s -np N --oversubscribe; ogai-run: ogai-run -np N --\n",
      runs, barrier.c_str(), cores, mpirun.c_str());
  std::printf("%6s  %14s  %14s  %7s  %12s  %12s%s\n", "N", "ogai-run [s]", "mpirun [s]", "ratio", "ogai exit",
              "mpirun exit", with_store ? "  ogai+store [s]" : "");
  int failures = 0;
  for (int n : sizes) {
    std::vector<double> ob, oe, mb, me, sb;
    std::string ns = std::to_string(n);
    for (int r = 0; r < runs; ++r) {
      Sample o = RunOnce({ogai_run, "-np", ns, "--", barrier, "mpi"}, env, n);
      Sample m = RunOnce({mpirun, "-np", ns, "--oversubscribe", barrier, "mpi"}, env, n);
      for (const Sample* s : {&o, &m}) {
        if (!s->ok) {
          std::fprintf(stderr, "run failed: %s\n", s->error.c_str());
          ++failures;
        }
      }
      if (o.ok) {
        ob.push_back(o.barrier_s);
        oe.push_back(o.exit_s);
      }
      if (m.ok) {
        mb.push_back(m.barrier_s);
        me.push_back(m.exit_s);
      }
      if (with_store) {
        Sample st = RunOnce({ogai_run, "-np", ns, "--mpi", "none", "--", barrier, "store"}, env, n);
        if (st.ok) {
          sb.push_back(st.barrier_s);
        } else {
          std::fprintf(stderr, "run failed: %s\n", st.error.c_str());
          ++failures;
        }
      }
    }
    if (ob.empty() || mb.empty()) {
      std::printf("%6d  (no successful runs)\n", n);
      continue;
    }
    double o = Median(ob), m = Median(mb);
    std::printf("%6d  %14.3f  %14.3f  %6.2fx  %12.3f  %12.3f", n, o, m, o / m, Median(oe), Median(me));
    if (with_store && !sb.empty()) std::printf("  %14.3f", Median(sb));
    std::printf("\n");
    std::fflush(stdout);
  }
  return failures == 0 ? 0 : 1;
}

Command reg("launch", "launcher start-up: ogai-run vs mpirun to the first barrier", &RunLaunch);

}  // namespace
}  // namespace ogai::bench
