// The SGEMM side of `ogai-bench train`: the model's GEMM shapes, each timed alone with every
// GEMM backend (the peak and the shape mix that fraction_of_peak and fraction_of_mix divide
// by), and, with --breakdown, each shape's rate inside the timed training steps (the tally of
// kernels/cpu/gemm_tally.h) beside the same shape alone with the backend the steps used.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/cpu/gemm_tally.h"
#include "model/model_config.h"

namespace ogai::bench {

struct GemmShape {
  bool ta, tb;
  int64_t m, n, k;
  std::string what;  // "qkv fwd", "head dweight", ...
  double Flops() const { return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k); }
};

// Every GEMM the dense model runs in one micro-batch, by shape.
std::vector<GemmShape> ModelGemmShapes(const ModelConfig& mc, int micro_batch);

struct GemmPeak {
  double best_gflops = 0;  // the fastest single SGEMM at any model shape, any library
  std::string best_where;
  double mix_gflops = 0;                     // FLOP-weighted over the model's shapes, best library each
  std::map<std::string, double> by_library;  // FLOP-weighted per library
  std::vector<GemmShape> shapes;
  std::map<std::string, std::vector<double>> seconds;  // per library, per shape: best of the timed calls
};

// Times each shape with each backend (best of 5, the operands in cache: a shape's best case),
// then sets the backend back to `restore`.
GemmPeak MeasureGemmPeak(const ModelConfig& mc, int micro_batch, const std::string& restore);

// One row per shape the steps ran: calls and ms per step, GFLOP/s in the steps, GFLOP/s of the
// same shape alone with `library`, and the model's name for it. A JSON array; PrintGemmShapes
// writes it as a table with the totals (the GEMM time of a step against the same calls at the
// shapes' rates alone).
nlohmann::json GemmShapeRows(const GemmPeak& peak, const std::string& library,
                             const std::vector<kernels::GemmShapeTime>& tally, int steps);
void PrintGemmShapes(std::FILE* out, const nlohmann::json& rows, const std::string& library);

}  // namespace ogai::bench
