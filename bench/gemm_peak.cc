#include "bench/gemm_peak.h"

#include <algorithm>

#include "core/clock.h"
#include "kernels/cpu/gemm.h"

namespace ogai::bench {
namespace {

double TimeGemm(const GemmShape& s, std::vector<float>& a, std::vector<float>& b, std::vector<float>& c, int reps) {
  const int64_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
  kernels::Sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = Now();
    kernels::Sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
    best = std::min(best, Now() - t0);
  }
  return best;
}

std::string ShapeName(bool ta, bool tb, int64_t m, int64_t n, int64_t k) {
  return std::string(ta ? "T" : "N") + (tb ? "T" : "N") + " " + std::to_string(m) + "x" + std::to_string(n) + "x" +
         std::to_string(k);
}

}  // namespace

std::vector<GemmShape> ModelGemmShapes(const ModelConfig& mc, int micro_batch) {
  const int64_t bt = static_cast<int64_t>(micro_batch) * mc.seq_len, c = mc.d_model, v = mc.vocab;
  std::vector<GemmShape> s;
  struct Lin {
    int64_t in, out;
    const char* name;
  };
  const Lin lins[] = {
      {c, 3 * c, "qkv"}, {c, c, "attn.proj"}, {c, 4 * c, "mlp.fc"}, {4 * c, c, "mlp.proj"}, {c, v, "head"}};
  for (const Lin& l : lins) {
    s.push_back({false, true, bt, l.out, l.in, std::string(l.name) + " fwd"});
    s.push_back({false, false, bt, l.in, l.out, std::string(l.name) + " dinp"});
    s.push_back({true, false, l.out, l.in, bt, std::string(l.name) + " dweight"});
  }
  return s;
}

GemmPeak MeasureGemmPeak(const ModelConfig& mc, int micro_batch, const std::string& restore) {
  GemmPeak p;
  p.shapes = ModelGemmShapes(mc, micro_batch);
  size_t max_a = 0, max_b = 0, max_c = 0;
  for (const auto& s : p.shapes) {
    max_a = std::max<size_t>(max_a, s.m * s.k);
    max_b = std::max<size_t>(max_b, s.k * s.n);
    max_c = std::max<size_t>(max_c, s.m * s.n);
  }
  std::vector<float> a(max_a, 0.01f), b(max_b, 0.02f), c(max_c);
  std::vector<double> best_time(p.shapes.size(), 1e30);
  double total_flops = 0;
  for (const auto& s : p.shapes) total_flops += s.Flops();
  for (const char* lib : {"openblas", "onednn", "onednn-panels"}) {
    if (!kernels::SetGemmBackend(lib).ok()) continue;
    double lib_time = 0;
    std::vector<double>& secs = p.seconds[lib];
    for (size_t i = 0; i < p.shapes.size(); ++i) {
      const GemmShape& s = p.shapes[i];
      const double t = TimeGemm(s, a, b, c, 5);
      const double gf = s.Flops() / t / 1e9;
      secs.push_back(t);
      lib_time += t;
      best_time[i] = std::min(best_time[i], t);
      if (gf > p.best_gflops) {
        p.best_gflops = gf;
        p.best_where = std::string(lib) + " " + s.what + " (" + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" +
                       std::to_string(s.k) + ")";
      }
    }
    p.by_library[lib] = total_flops / lib_time / 1e9;
  }
  double t = 0;
  for (double x : best_time) t += x;
  p.mix_gflops = total_flops / t / 1e9;
  (void)kernels::SetGemmBackend(restore);
  return p;
}

nlohmann::json GemmShapeRows(const GemmPeak& peak, const std::string& library,
                             const std::vector<kernels::GemmShapeTime>& tally, int steps) {
  nlohmann::json rows = nlohmann::json::array();
  const auto lib = peak.seconds.find(library);
  for (const auto& t : tally) {
    const double flops = 2.0 * static_cast<double>(t.m) * static_cast<double>(t.n) * static_cast<double>(t.k);
    nlohmann::json r;
    r["shape"] = ShapeName(t.trans_a, t.trans_b, t.m, t.n, t.k);
    r["fused"] = t.fused;
    r["calls_per_step"] = static_cast<double>(t.calls) / steps;
    r["ms_per_step"] = t.seconds / steps * 1e3;
    r["gflops"] = t.seconds > 0 ? flops * static_cast<double>(t.calls) / t.seconds / 1e9 : 0.0;
    std::string what;
    double alone = 0;
    for (size_t i = 0; i < peak.shapes.size(); ++i) {
      const GemmShape& s = peak.shapes[i];
      if (s.ta != t.trans_a || s.tb != t.trans_b || s.m != t.m || s.n != t.n || s.k != t.k) continue;
      what += (what.empty() ? "" : ", ") + s.what;
      if (lib != peak.seconds.end() && i < lib->second.size()) alone = flops / lib->second[i] / 1e9;
    }
    r["what"] = what;
    r["gflops_alone"] = alone;  // 0: the shape is not among the model's (not timed alone)
    rows.push_back(r);
  }
  return rows;
}

void PrintGemmShapes(std::FILE* out, const nlohmann::json& rows, const std::string& library) {
  std::fprintf(out,
               "  GEMM shapes in the timed steps (%s), against the same shape alone (best of 5, operands in cache):\n",
               library.c_str());
  std::fprintf(out, "    %-20s %-6s %-26s %8s %9s %8s %8s %6s\n", "shape", "fused", "model's", "calls", "ms/step",
               "GFLOP/s", "alone", "ratio");
  double ms = 0, ms_alone = 0;
  for (const auto& r : rows) {
    const double gf = r["gflops"], alone = r["gflops_alone"], step_ms = r["ms_per_step"];
    std::fprintf(out, "    %-20s %-6s %-26s %8.1f %9.2f %8.1f %8.1f %6.3f\n", r["shape"].get<std::string>().c_str(),
                 r["fused"].get<bool>() ? "yes" : "no", r["what"].get<std::string>().c_str(),
                 r["calls_per_step"].get<double>(), step_ms, gf, alone, alone > 0 ? gf / alone : 0.0);
    ms += step_ms;
    ms_alone += alone > 0 ? step_ms * gf / alone : step_ms;
  }
  std::fprintf(out, "    all: %.1f ms/step in the steps; the same calls at the shapes' rates alone: %.1f ms (%.3f)\n",
               ms, ms_alone, ms > 0 ? ms_alone / ms : 0.0);
}

}  // namespace ogai::bench
