// One rank of the NCCL tests: all-reduce (sum, avg) in fp32/bf16/fp16, all-gather,
// reduce-scatter and broadcast on device buffers, checked on the host. With --bench it
// prints busbw for fp32 all-reduce from 1 MiB to 256 MiB instead.
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "comm/nccl/nccl_process_group.h"
#include "comm/process_group.h"
#include "store/store.h"

using namespace ogai;
using namespace ogai::comm;

static int failures = 0;
#define CHECK_OR_FAIL(c, ...)            \
  do {                                   \
    if (!(c)) {                          \
      ++failures;                        \
      std::fprintf(stderr, __VA_ARGS__); \
      std::fprintf(stderr, "\n");        \
    }                                    \
  } while (0)

static float Val(int r, size_t i) { return static_cast<float>((r + 1) * static_cast<int>((i % 7) + 1)); }

static void PutHost(std::vector<char>& h, size_t i, DataType t, float v) {
  if (t == DataType::kFloat32)
    reinterpret_cast<float*>(h.data())[i] = v;
  else if (t == DataType::kBFloat16)
    reinterpret_cast<uint16_t*>(h.data())[i] = FloatToBf16(v);
  else
    reinterpret_cast<_Float16*>(h.data())[i] = static_cast<_Float16>(v);
}
static float GetHost(const std::vector<char>& h, size_t i, DataType t) {
  if (t == DataType::kFloat32) return reinterpret_cast<const float*>(h.data())[i];
  if (t == DataType::kBFloat16) return Bf16ToFloat(reinterpret_cast<const uint16_t*>(h.data())[i]);
  return static_cast<float>(reinterpret_cast<const _Float16*>(h.data())[i]);
}

int main(int argc, char** argv) {
  const int rank = std::atoi(std::getenv("OGAI_TEST_RANK"));
  const int world = std::atoi(std::getenv("OGAI_TEST_WORLD"));
  const bool bench = argc > 1 && std::strcmp(argv[1], "--bench") == 0;
  auto st = store::ConnectTcpStore("127.0.0.1", std::atoi(std::getenv("OGAI_TEST_STORE_PORT")),
                                   std::getenv("OGAI_TEST_STORE_TOKEN"), std::chrono::seconds(20));
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.status().ToString().c_str());
    return 1;
  }
  ProcessGroupOptions o;
  o.device = 0;  // several ranks may share the one GPU of a test machine
  auto pg = CreateProcessGroup("nccl", std::shared_ptr<store::Store>(std::move(*st)), rank, world, o);
  if (!pg.ok()) {
    std::fprintf(stderr, "%s\n", pg.status().ToString().c_str());
    return 1;
  }
  ProcessGroup& g = **pg;
  if (bench) {
    for (size_t bytes = 1 << 20; bytes <= (256u << 20); bytes *= 4) {
      void* d;
      cudaMalloc(&d, bytes);
      const size_t n = bytes / 4;
      for (int i = 0; i < 5; ++i)
        (void)g.AllReduce(d, d, n, DataType::kFloat32, ReduceOp::kSum)->Wait(std::chrono::seconds(60));
      const int iters = 20;
      auto t0 = std::chrono::steady_clock::now();
      WorkPtr w;
      for (int i = 0; i < iters; ++i) w = g.AllReduce(d, d, n, DataType::kFloat32, ReduceOp::kSum);
      Status s = w->Wait(std::chrono::seconds(60));
      double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / iters;
      if (rank == 0)
        std::printf("nccl allreduce %zu B: %.1f us, busbw %.2f GB/s (%s)\n", bytes, us,
                    bytes / us / 1e3 * 2.0 * (world - 1) / world, s.ToString().c_str());
      cudaFree(d);
    }
    return 0;
  }
  for (DataType t : {DataType::kFloat32, DataType::kBFloat16, DataType::kFloat16}) {
    for (size_t count : {size_t{1}, size_t{1000003}}) {
      const size_t es = DataTypeSize(t);
      std::vector<char> h(count * es * static_cast<size_t>(world));
      for (size_t i = 0; i < count; ++i) PutHost(h, i, t, Val(rank, i));
      void *din, *dout;
      cudaMalloc(&din, h.size());
      cudaMalloc(&dout, h.size());
      cudaMemcpy(din, h.data(), count * es, cudaMemcpyHostToDevice);
      for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg}) {
        Status s = g.AllReduce(din, dout, count, t, op)->Wait(std::chrono::seconds(60));
        CHECK_OR_FAIL(s.ok(), "allreduce: %s", s.ToString().c_str());
        cudaMemcpy(h.data(), dout, count * es, cudaMemcpyDeviceToHost);
        const double tri = world * (world + 1) / 2.0;
        for (size_t i = 0; i < count; ++i) {
          float want = static_cast<float>(((i % 7) + 1) * tri);
          if (op == ReduceOp::kAvg) want /= static_cast<float>(world);
          float got = GetHost(h, i, t);
          if (std::abs(got - want) > 1e-2f * std::abs(want)) {
            CHECK_OR_FAIL(false, "allreduce %s %s count=%zu element %zu: %g want %g", DataTypeName(t), ReduceOpName(op),
                          count, i, got, want);
            break;
          }
        }
      }
      Status s = g.AllGather(din, dout, count, t)->Wait(std::chrono::seconds(60));
      CHECK_OR_FAIL(s.ok(), "allgather: %s", s.ToString().c_str());
      cudaMemcpy(h.data(), dout, h.size(), cudaMemcpyDeviceToHost);
      for (size_t i = 0; i < count * static_cast<size_t>(world); ++i) {
        if (GetHost(h, i, t) != Val(static_cast<int>(i / count), i % count)) {
          CHECK_OR_FAIL(false, "allgather wrong at %zu", i);
          break;
        }
      }
      s = g.Broadcast(din, count, t, world - 1)->Wait(std::chrono::seconds(60));
      CHECK_OR_FAIL(s.ok(), "broadcast: %s", s.ToString().c_str());
      s = g.Barrier()->Wait(std::chrono::seconds(60));
      CHECK_OR_FAIL(s.ok(), "barrier: %s", s.ToString().c_str());
      cudaFree(din);
      cudaFree(dout);
    }
  }
  if (failures == 0) std::fprintf(stderr, "rank %d: nccl ok\n", rank);
  return failures ? 1 : 0;
}
