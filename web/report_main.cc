// ogai-report: one self-contained HTML page for a run (docs/dashboard.md).
// Usage: ogai-report RUN_DIR_OR_METRICS [--out report.html]
// `ogai report ARGS` runs `ogai-report ARGS`.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "core/clock.h"
#include "core/file_io.h"
#include "core/log.h"
#include "web/assets.h"
#include "web/metrics_reader.h"
#include "web/report_html.h"

namespace {

constexpr const char* kUsage =
    "usage: ogai-report RUN_DIR_OR_METRICS [--out report.html]\n"
    "  RUN_DIR_OR_METRICS  a run's train.metrics_file, or the folder that holds it\n"
    "  --out FILE          where to write the page (default: report.html)\n"
    "Writes one self-contained HTML file (no network needed to view it): loss and validation loss, tokens/s,\n"
    "step time, learning rate, gradient norm, communication waits, checkpoints and restarts, the resolved\n"
    "config and the hardware. Run it again to refresh the report of a running job.\n";

int Usage(const std::string& why) {
  ogai::LogLine(ogai::LogLevel::Error, why + "\n" + kUsage);
  return 2;
}

int Fail(const ogai::Status& st) {
  ogai::LogLine(ogai::LogLevel::Error, st.message());
  return 1;
}

// Writes `text` to `path` through a temporary file, so that a reader never sees half a page.
ogai::Status WriteFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ogai::ErrnoError("--out: cannot create '" + tmp + "'", errno);
  ogai::Status st = ogai::WriteAllFd(fd, text.data(), text.size(), tmp);
  if (::close(fd) != 0 && st.ok()) st = ogai::ErrnoError("--out: cannot write '" + tmp + "'", errno);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = ogai::ErrnoError("--out: cannot create '" + path + "'", errno);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

}  // namespace

int main(int argc, char** argv) {
  ogai::SetLogProcessName("ogai-report");
  std::string input, out = "report.html";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      ogai::Print(kUsage);
      return 0;
    } else if (a == "--out" || a == "-o") {
      if (i + 1 >= argc) return Usage("--out needs a file name");
      out = argv[++i];
    } else if (a.rfind("--out=", 0) == 0) {
      out = a.substr(6);
    } else if (!a.empty() && a[0] == '-') {
      return Usage("unknown option '" + a + "'");
    } else if (input.empty()) {
      input = a;
    } else {
      return Usage("unexpected argument '" + a + "' (one run folder or metrics file)");
    }
  }
  if (input.empty()) return Usage("no run folder or metrics file given");
  if (out.empty()) return Usage("--out needs a file name");
  auto path = ogai::web::FindMetricsFile(input);
  if (!path.ok()) return Fail(path.status());
  auto run = ogai::web::ReadMetrics(*path);
  if (!run.ok()) return Fail(run.status());
  if (run->steps.empty() && run->rounds.empty()) {
    ogai::LogLine(ogai::LogLevel::Error, "'" + *path +
                                             "' has no step or start record: is it a train.metrics_file? (it holds " +
                                             std::to_string(run->skipped_lines) + " lines that are not JSON objects)");
    return 1;
  }
  ogai::web::ReportOptions opts;
  opts.now_unix_ms = ogai::UnixMs();
  if (auto st = WriteFile(out, ogai::web::RenderReport(*run, opts)); !st.ok()) return Fail(st);
  if (!ogai::web::ChartsAvailable()) {
    ogai::LogLine(ogai::LogLevel::Warn, std::string("charts are unavailable: ") + ogai::web::kChartsReason);
  }
  ogai::Print("ogai-report: wrote " + out + " (" + std::to_string(run->steps.size()) + " steps of " + *path +
              (run->finished ? ", finished" : ", running or stopped") + ")");
  return 0;
}
