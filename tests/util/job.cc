#include "tests/util/job.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "core/file_io.h"
#include "tests/util/child.h"

namespace ogai::testing {

std::string BuildDir() {
  const char* d = std::getenv("OGAI_BUILD_DIR");
  return d != nullptr ? d : "build";
}

TempDir::TempDir(const std::string& tag) {
  const char* t = std::getenv("TMPDIR");
  std::string tmpl = std::string(t != nullptr && *t != '\0' ? t : "/tmp") + "/" + tag + ".XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl + " failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

JobResult RunShell(const std::string& command, double timeout_s) {
  const ChildResult c = RunChild({"/bin/sh", "-c", command}, timeout_s);
  return {c.exit_code, c.output};
}

std::vector<StepMetrics> ReadStepMetrics(const std::string& path) {
  std::vector<StepMetrics> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const auto sp = line.find("\"step\": ");
    const auto lp = line.find("\"loss\": ");
    const auto bp = line.find("\"loss_bits\": \"");
    if (sp == std::string::npos || lp == std::string::npos || bp == std::string::npos) continue;
    StepMetrics m;
    m.step = std::stoll(line.substr(sp + 8));
    m.loss = std::stod(line.substr(lp + 8));
    const auto be = line.find('"', bp + 14);
    m.loss_bits = line.substr(bp + 14, be - bp - 14);
    out.push_back(m);
  }
  return out;
}

std::map<std::string, long long> ReadMemoryMetrics(const std::string& path) {
  std::map<std::string, long long> m;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"memory\"") == std::string::npos) continue;
    for (const char* key : {"block_parameters", "parameters", "gradients", "optimizer", "activations"}) {
      const std::string k = std::string("\"") + key + "\": ";
      const auto p = line.find(k);
      if (p != std::string::npos) m[key] = std::stoll(line.substr(p + k.size()));
    }
  }
  return m;
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

void WriteSyntheticMetrics(const std::string& path, int steps) {
  std::ofstream out(path, std::ios::trunc);
  out << R"({"start": {"restart": 0, "rank": 0, "world": 1, "dp": 1, "tp": 1, "pp": 1, "grad_accum": 1, "global_batch": 8, "resume_step": 0, "source": "none", "started_unix_ms": 0}})"
      << "\n";
  char line[256];
  for (int s = 1; s <= steps; ++s) {
    std::snprintf(line, sizeof line,
                  "{\"step\": %d, \"loss\": %.6f, \"lr\": 0.001, \"grad_norm\": %.3f, \"ms\": %.3f, "
                  "\"dp_exposed_ms\": 0.5, \"restart\": 0, \"unix_ms\": %d.0}\n",
                  s, 5.0 / (1.0 + s * 1e-3) + (s % 7) * 0.01, 1.0 + (s % 13) * 0.1, 20.0 + (s % 5), s * 20);
    out << line;
    if (s % 1000 != 0) continue;
    // An eval record as train/metrics.cc writes it; the first measured no bytes (null).
    char bpb[32] = "null";
    if (s > 1000) std::snprintf(bpb, sizeof bpb, "%.6f", 2.0 / (1.0 + s * 1e-4));
    std::snprintf(line, sizeof line,
                  "{\"eval\": {\"step\": %d, \"val_loss\": %.6f, \"tokens\": 4096, \"bytes\": %d, "
                  "\"bits_per_byte\": %s, \"ms\": 5.0, \"restart\": 0, \"unix_ms\": %d.0}}\n",
                  s, 5.2 / (1.0 + s * 1e-3), s > 1000 ? 16000 : 0, bpb, s * 20 + 5);
    out << line;
  }
}

std::string ReadText(const std::string& path) {
  auto text = ogai::ReadFile(path);
  return text.ok() ? std::move(*text) : std::string();
}

}  // namespace ogai::testing
