// ogai-ckpt: look after checkpoints.
//   ogai-ckpt ls DIR                       every checkpoint under DIR
//   ogai-ckpt verify PATH                  every checksum; exit 1 on any fault
//   ogai-ckpt inspect PATH [--config]      tensors, shapes, layout, step, sizes
//   ogai-ckpt export PATH --format safetensors OUT [--optimizer]
//   ogai-ckpt diff PATH_A PATH_B [--atol X] [--optimizer]   tensor by tensor, any layouts
// PATH is a step directory (DIR/step_NNNNNNNN) or a checkpoint root (its `latest`).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "ckpt/export.h"
#include "ckpt/format.h"
#include "ckpt/reader.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/main_guard.h"
#include "core/memory.h"

namespace {

using namespace ogai;
using namespace ogai::ckpt;

constexpr const char* kUsage =
    "usage: ogai-ckpt ls DIR\n"
    "       ogai-ckpt verify PATH\n"
    "       ogai-ckpt inspect PATH [--config]\n"
    "       ogai-ckpt export PATH --format safetensors OUT [--optimizer]\n"
    "       ogai-ckpt diff PATH_A PATH_B [--atol X] [--optimizer]\n"
    "PATH: a checkpoint root (checkpoint.dir; uses what its `latest` names) or one of its\n"
    "step_NNNNNNNN directories. verify exits 1 when any checksum, size or header is wrong.\n"
    "diff compares the consolidated tensors of two checkpoints (saved at any layouts) and\n"
    "exits 1 when a tensor differs by more than --atol (default 0) or is missing.\n";

int Fail(const Status& st, int code = 1) {
  std::fprintf(stderr, "ogai-ckpt: %s\n", st.ToString().c_str());
  return code;
}

std::string Shape(const pb::Tensor& t) {
  std::string s = "[";
  for (int i = 0; i < t.shape_size(); ++i) s += (i ? ", " : "") + std::to_string(t.shape(i));
  return s + "]";
}

int Ls(const std::string& dir) {
  auto list = ListCheckpoints(dir);
  if (!list.ok()) return Fail(list.status());
  auto latest = ReadLatest(dir);
  if (list->empty()) {
    std::printf("%s: no checkpoints\n", dir.c_str());
    return 0;
  }
  std::printf("%-16s %-12s %10s  %-23s  %s\n", "checkpoint", "state", "size", "created", "");
  for (const auto& e : *list) {
    const std::string name = e.path.substr(e.path.rfind('/') + 1);
    std::string created = "-", state = e.committed ? "committed" : "unfinished";
    if (e.committed) {
      auto m = ReadManifest(e.path);
      if (m.ok())
        created = FormatUtc(static_cast<double>(m->created_unix_ms()));
      else
        state = "damaged";
    }
    const bool is_latest = latest.ok() && *latest == name;
    std::printf("%-16s %-12s %10s  %-23s  %s\n", name.c_str(), state.c_str(), FormatBytes(e.bytes).c_str(),
                created.c_str(), is_latest ? "<- latest" : "");
  }
  if (!latest.ok() && latest.status().code() != Code::kNotFound) {
    std::printf("warning: %s\n", latest.status().message().c_str());
  }
  return 0;
}

int Verify(const std::string& path) {
  auto ck = Checkpoint::Open(path);
  if (!ck.ok()) return Fail(ck.status());
  int64_t bytes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto faults = (*ck)->Verify(&bytes);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int chunks = 0;
  for (const auto& t : (*ck)->manifest().tensors())
    for (const auto& p : t.pieces()) chunks += p.chunk_crc32c_size();
  if (!faults.empty()) {
    for (const auto& f : faults) std::printf("FAULT %s\n", f.ToString().c_str());
    std::printf(
        "%s: %zu fault(s); this checkpoint must not be trusted (resume falls back to an earlier one "
        "with checkpoint.resume=auto)\n",
        (*ck)->path().c_str(), faults.size());
    return 1;
  }
  std::printf("OK %s: step %lld, %d files, %d tensors, %d chunks, %s verified in %.2f s\n", (*ck)->path().c_str(),
              static_cast<long long>((*ck)->step()), (*ck)->manifest().files_size(), (*ck)->manifest().tensors_size(),
              chunks, FormatBytes(bytes).c_str(), s);
  return 0;
}

int Inspect(const std::string& path, bool config) {
  auto ck = Checkpoint::Open(path);
  if (!ck.ok()) return Fail(ck.status());
  const pb::Manifest& m = (*ck)->manifest();
  if (config) {
    std::fputs(m.config_yaml().c_str(), stdout);
    return 0;
  }
  const auto& L = m.layout();
  std::printf("checkpoint  %s\n", (*ck)->path().c_str());
  std::printf("step        %lld (samples consumed %lld, global batch %lld, seed %llu)\n",
              static_cast<long long>(m.step()), static_cast<long long>(m.train().samples_consumed()),
              static_cast<long long>(m.train().global_batch()), static_cast<unsigned long long>(m.train().seed()));
  std::printf("layout      world %d = dp %d x tp %d x pp %d, zero %d\n", L.world_size(), L.dp(), L.tp(), L.pp(),
              L.zero());
  std::printf("created     %s by %s\n", FormatUtc(static_cast<double>(m.created_unix_ms())).c_str(),
              m.created_by().c_str());
  std::printf("files       %d, %s\n", m.files_size(), FormatBytes((*ck)->TotalBytes()).c_str());
  for (const auto& f : m.files()) {
    std::printf("  %-20s rank %-5d %s\n", f.name().c_str(), f.rank(),
                FormatBytes(static_cast<int64_t>(f.bytes())).c_str());
  }
  for (const auto& r : m.optimizer_ranges()) {
    std::printf("optimizer   rank %d: flat elements [%lld, %lld)\n", r.rank(), static_cast<long long>(r.begin()),
                static_cast<long long>(r.end()));
  }
  int64_t params = 0;
  std::printf("tensors     %d\n", m.tensors_size());
  std::printf("  %-32s %-5s %-18s %7s %12s\n", "name", "dtype", "shape", "pieces", "bytes");
  for (const auto& t : m.tensors()) {
    int64_t n = 1;
    for (int64_t d : t.shape()) n *= d;
    if (!IsOptimizerTensor(t.name())) params += n;
    std::printf("  %-32s %-5s %-18s %7d %12lld\n", t.name().c_str(), "f32", Shape(t).c_str(), t.pieces_size(),
                static_cast<long long>(n * 4));
  }
  std::printf("parameters  %lld\n", static_cast<long long>(params));
  return 0;
}

int Export(const std::vector<std::string>& args) {
  std::string path, format, out;
  bool opt = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--format" && i + 1 < args.size()) {
      format = args[++i];
    } else if (args[i] == "--optimizer") {
      opt = true;
    } else if (!args[i].empty() && args[i][0] == '-') {
      std::fprintf(stderr, "ogai-ckpt export: unknown option '%s'\n%s", args[i].c_str(), kUsage);
      return 2;
    } else if (path.empty()) {
      path = args[i];
    } else if (out.empty()) {
      out = args[i];
    } else {
      std::fprintf(stderr, "ogai-ckpt export: unexpected argument '%s'\n%s", args[i].c_str(), kUsage);
      return 2;
    }
  }
  if (path.empty() || out.empty()) {
    std::fprintf(stderr, "ogai-ckpt export: needs PATH and OUT\n%s", kUsage);
    return 2;
  }
  if (format != "safetensors") {
    std::fprintf(stderr, "ogai-ckpt export: --format must be safetensors (the only format ogai exports), got '%s'\n",
                 format.c_str());
    return 2;
  }
  auto ck = Checkpoint::Open(path);
  if (!ck.ok()) return Fail(ck.status());
  ExportOptions eo;
  eo.include_optimizer = opt;
  auto n = ExportSafetensors(**ck, out, eo);
  if (!n.ok()) return Fail(n.status());
  std::printf("wrote %s: %d tensors from %s (step %lld)\n", out.c_str(), *n, (*ck)->path().c_str(),
              static_cast<long long>((*ck)->step()));
  return 0;
}

// Reads the whole (consolidated) tensor `t` of checkpoint `ck`.
Result<std::vector<float>> ReadWhole(const Checkpoint& ck, const pb::Tensor& t) {
  std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> out(static_cast<size_t>(n));
  ReadSlice s;
  s.name = t.name();
  s.global_shape = shape;
  s.region = Region::Box(std::vector<int64_t>(shape.size(), 0), shape);
  s.data = out.data();
  OGAI_RETURN_IF_ERROR(ck.Read({s}));
  return out;
}

int Diff(const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  double atol = 0.0;
  bool opt = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--atol" && i + 1 < args.size()) {
      char* end = nullptr;
      atol = std::strtod(args[++i].c_str(), &end);
      if (*end != '\0' || atol < 0) {
        std::fprintf(stderr, "ogai-ckpt diff: --atol must be a number >= 0, got '%s'\n", args[i].c_str());
        return 2;
      }
    } else if (args[i] == "--optimizer") {
      opt = true;
    } else if (!args[i].empty() && args[i][0] == '-') {
      std::fprintf(stderr, "ogai-ckpt diff: unknown option '%s'\n%s", args[i].c_str(), kUsage);
      return 2;
    } else {
      paths.push_back(args[i]);
    }
  }
  if (paths.size() != 2) {
    std::fprintf(stderr, "ogai-ckpt diff: needs two checkpoints\n%s", kUsage);
    return 2;
  }
  auto a = Checkpoint::Open(paths[0]);
  if (!a.ok()) return Fail(a.status());
  auto b = Checkpoint::Open(paths[1]);
  if (!b.ok()) return Fail(b.status());
  int compared = 0, differing = 0;
  double worst = 0.0;
  std::string worst_name;
  for (const pb::Tensor& ta : (*a)->manifest().tensors()) {
    if (!opt && ta.name().rfind("adamw.", 0) == 0) continue;
    const pb::Tensor* tb = (*b)->FindTensor(ta.name());
    if (tb == nullptr || Shape(*tb) != Shape(ta)) {
      std::printf("%-32s only in %s or shaped differently (%s vs %s)\n", ta.name().c_str(), paths[0].c_str(),
                  Shape(ta).c_str(), tb ? Shape(*tb).c_str() : "missing");
      ++differing;
      continue;
    }
    auto va = ReadWhole(**a, ta);
    if (!va.ok()) return Fail(va.status());
    auto vb = ReadWhole(**b, *tb);
    if (!vb.ok()) return Fail(vb.status());
    double max_diff = 0.0;
    for (size_t i = 0; i < va->size(); ++i) {
      max_diff = std::max(max_diff, std::fabs(static_cast<double>((*va)[i]) - (*vb)[i]));
    }
    ++compared;
    if (max_diff > worst) {
      worst = max_diff;
      worst_name = ta.name();
    }
    if (max_diff > atol) {
      std::printf("%-32s %-16s max |a - b| = %.3g\n", ta.name().c_str(), Shape(ta).c_str(), max_diff);
      ++differing;
    }
  }
  std::printf("%d tensors compared, %d beyond --atol %g; largest difference %.3g%s%s\n", compared, differing, atol,
              worst, worst_name.empty() ? "" : " in ", worst_name.c_str());
  return differing == 0 ? 0 : 1;
}

}  // namespace

static int Main(int argc, char** argv) {
  ogai::SetLogProcessName("ogai-ckpt");
  if (!ogai::ApplyLogLevelFromEnv()) {
    std::fprintf(stderr, "ogai-ckpt: OGAI_LOG_LEVEL must be error, warn, info or debug\n");
    return 2;
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "ls" && args.size() == 1) return Ls(args[0]);
  if (cmd == "verify" && args.size() == 1) return Verify(args[0]);
  if (cmd == "inspect" && (args.size() == 1 || (args.size() == 2 && args[1] == "--config"))) {
    return Inspect(args[0], args.size() == 2);
  }
  if (cmd == "export") return Export(args);
  if (cmd == "diff") return Diff(args);
  std::fprintf(stderr, "ogai-ckpt: unknown command or wrong arguments: '%s'\n%s", cmd.c_str(), kUsage);
  return 2;
}

int main(int argc, char** argv) { return ogai::GuardedMain("ogai-ckpt", argc, argv, Main); }
