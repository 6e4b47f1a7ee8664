// Reduction kernels against memcpy on the same buffers (bytes/s counts every byte read
// and written: 3 buffers for a reduction, 2 for memcpy).
//   build/bin/reduce_bench --benchmark_min_time=0.2
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

#include "comm/reduce.h"

namespace {

using ogai::comm::DataType;
using ogai::comm::ReduceOp;

void BM_Memcpy(benchmark::State& s) {
  const size_t bytes = static_cast<size_t>(s.range(0));
  std::vector<char> a(bytes, 1), b(bytes, 2);
  for (auto _ : s) {
    std::memcpy(b.data(), a.data(), bytes);
    benchmark::DoNotOptimize(b.data());
  }
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations()) * static_cast<int64_t>(2 * bytes));
}

void BM_Reduce(benchmark::State& s, DataType t, ReduceOp op) {
  const size_t bytes = static_cast<size_t>(s.range(0));
  const size_t n = bytes / ogai::comm::DataTypeSize(t);
  std::vector<char> a(bytes, 0), b(bytes, 0), out(bytes, 0);
  for (auto _ : s) {
    ogai::comm::Reduce(out.data(), a.data(), b.data(), n, t, op);
    benchmark::DoNotOptimize(out.data());
  }
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations()) * static_cast<int64_t>(3 * bytes));
}

}  // namespace

BENCHMARK(BM_Memcpy)->Arg(256 << 10)->Arg(16 << 20);
BENCHMARK_CAPTURE(BM_Reduce, fp32_sum, DataType::kFloat32, ReduceOp::kSum)->Arg(256 << 10)->Arg(16 << 20);
BENCHMARK_CAPTURE(BM_Reduce, fp32_max, DataType::kFloat32, ReduceOp::kMax)->Arg(256 << 10)->Arg(16 << 20);
BENCHMARK_CAPTURE(BM_Reduce, bf16_sum, DataType::kBFloat16, ReduceOp::kSum)->Arg(256 << 10)->Arg(16 << 20);
BENCHMARK_CAPTURE(BM_Reduce, fp16_sum, DataType::kFloat16, ReduceOp::kSum)->Arg(256 << 10)->Arg(16 << 20);

BENCHMARK_MAIN();
