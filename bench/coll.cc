// ogai-bench coll: nccl-tests-style collective benchmark with an MPI baseline measured in
// the same run and the same processes. Run it under mpirun (MPI gives ranks and the
// baseline; the ucx backend bootstraps through MPI):
//
//   mpirun -np 2 build/bin/ogai-bench coll --op allreduce --backend ucx --min-bytes 8 --max-bytes 256M
//
// --backend nccl (a build with CUDA and NCCL): the buffers are on each rank's GPU (LOCAL_RANK),
// rank 0 hosts a store for NCCL's unique id, and each iteration waits on the host for the
// GPU; results are copied back to be checked. Compiled, not yet run on a GPU (docs/gpu.md).
//
// For each size (doubling): out-of-place and in-place time (µs, the slowest rank's mean
// over --iters, each iteration = call + Wait), algbw = bytes/time, busbw = algbw times
// nccl-tests' factor (all-reduce 2(n-1)/n, all-gather and reduce-scatter (n-1)/n,
// broadcast and sendrecv 1), #wrong = elements that differ from the expected result
// (checked on every size, all ranks summed), then the plain MPI collective's time and
// busbw, and ratio = ogai busbw / MPI busbw (out-of-place; > 1 means ogai is faster).
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/coll_layout.h"
#include "bench/command.h"
#include "comm/process_group.h"
#include "comm/types.h"
#include "core/log.h"
#include "rank/rank_env.h"
#if OGAI_HAVE_NCCL
#include <cuda_runtime_api.h>

#include "store/server.h"
#include "store/store.h"
#endif

namespace ogai::bench {
namespace {

using comm::DataType;
using comm::ReduceOp;

struct Opts {
  std::string op = "allreduce", backend = "ucx", dtype = "fp32", redop = "sum";
  size_t min_bytes = 8, max_bytes = 256u << 20;
  int iters = 0, warmup = -1;  // 0: chosen per size
  bool json = false, check = true, median = false;
};

size_t ParseBytes(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  switch (end && *end ? *end : ' ') {
    case 'K':
    case 'k': v *= 1024; break;
    case 'M':
    case 'm': v *= 1024 * 1024; break;
    case 'G':
    case 'g': v *= 1024.0 * 1024 * 1024; break;
    default: break;
  }
  return static_cast<size_t>(v);
}

void Usage() {
  std::fprintf(stderr,
               "usage: mpirun -np N ogai-bench coll [--op allreduce|allgather|reducescatter|broadcast|sendrecv]\n"
               "         [--backend ucx|mpi|nccl] [--min-bytes 8] [--max-bytes 256M] [--dtype fp32|bf16]\n"
               "         [--redop sum|avg|max|min] [--iters N] [--warmup N] [--json] [--no-check] [--median]\n");
}

float Val(int r, size_t i) { return static_cast<float>((r + 1) * static_cast<int>((i % 7) + 1)); }

void Fill(void* p, size_t n, DataType t, int r) {
  for (size_t i = 0; i < n; ++i) {
    if (t == DataType::kFloat32)
      static_cast<float*>(p)[i] = Val(r, i);
    else
      static_cast<uint16_t*>(p)[i] = comm::FloatToBf16(Val(r, i));
  }
}
float At(const void* p, size_t i, DataType t) {
  return t == DataType::kFloat32 ? static_cast<const float*>(p)[i]
                                 : comm::Bf16ToFloat(static_cast<const uint16_t*>(p)[i]);
}
float Round(float v, DataType t) { return t == DataType::kFloat32 ? v : comm::Bf16ToFloat(comm::FloatToBf16(v)); }

struct Case {
  std::string op;
  DataType t;
  ReduceOp redop;
  int rank, n;
  size_t bytes;  // nccl-tests' size: the full buffer (all-gather output, reduce-scatter input)
  size_t count;  // elements per rank-block (nccl-tests' count)
  size_t es;
  std::vector<char> in, out;
  // nccl: the buffers live on the GPU (din/dout mirror in/out); a Wait then blocks the host.
  bool device = false;
  char* din = nullptr;
  char* dout = nullptr;

  double BusFactor() const {
    if (op == "allreduce") return 2.0 * (n - 1) / n;
    if (op == "allgather" || op == "reducescatter") return static_cast<double>(n - 1) / n;
    return 1.0;
  }
  size_t InElems() const { return op == "reducescatter" ? count * static_cast<size_t>(n) : count; }
  size_t OutElems() const { return op == "allgather" ? count * static_cast<size_t>(n) : count; }
  void Prepare() {
    in.assign(InElems() * es + 64, 0);
    out.assign(std::max(OutElems(), InElems()) * es + 64, 0);
    Fill(in.data(), InElems(), t, rank);
    if (op == "broadcast" || op == "sendrecv") Fill(out.data(), OutElems(), t, rank);
  }
  // Expected output element i.
  float Expected(size_t i) const {
    const double tri = n * (n + 1) / 2.0;
    const float base = static_cast<float>((i % 7) + 1);
    if (op == "allreduce") {
      switch (redop) {
        case ReduceOp::kSum: return Round(static_cast<float>(base * tri), t);
        case ReduceOp::kAvg: return Round(Round(static_cast<float>(base * tri), t) / static_cast<float>(n), t);
        case ReduceOp::kMax: return Round(base * static_cast<float>(n), t);
        case ReduceOp::kMin: return Round(base, t);
      }
    }
    if (op == "reducescatter") {
      size_t g = static_cast<size_t>(rank) * count + i;
      return Round(static_cast<float>(((g % 7) + 1) * tri), t);
    }
    if (op == "allgather") return Round(Val(static_cast<int>(i / count), i % count), t);
    if (op == "broadcast") return Round(Val(0, i), t);
    return Round(Val((rank - 1 + n) % n, i), t);  // sendrecv
  }
  long Wrong(const void* result) const {
    long w = 0;
    for (size_t i = 0; i < OutElems(); ++i) w += At(result, i, t) != Expected(i);
    return w;
  }
};

MPI_Datatype MpiType(DataType t) { return t == DataType::kFloat32 ? MPI_FLOAT : MPI_UINT16_T; }

// One iteration of the plain MPI collective (the baseline). bf16 sums are not native to
// MPI, so the baseline is only run for fp32.
int MpiOnce(Case& c, bool in_place) {
  const int cnt = static_cast<int>(c.count);
  MPI_Datatype ty = MpiType(c.t);
  MPI_Op op = c.redop == ReduceOp::kMax ? MPI_MAX : c.redop == ReduceOp::kMin ? MPI_MIN : MPI_SUM;
  void* in = c.in.data();
  void* out = c.out.data();
  if (c.op == "allreduce") return MPI_Allreduce(in_place ? MPI_IN_PLACE : in, out, cnt, ty, op, MPI_COMM_WORLD);
  if (c.op == "allgather") return MPI_Allgather(in, cnt, ty, out, cnt, ty, MPI_COMM_WORLD);
  if (c.op == "reducescatter") return MPI_Reduce_scatter_block(in, out, cnt, ty, op, MPI_COMM_WORLD);
  if (c.op == "broadcast") return MPI_Bcast(out, cnt, ty, 0, MPI_COMM_WORLD);
  const int right = (c.rank + 1) % c.n, left = (c.rank - 1 + c.n) % c.n;
  return MPI_Sendrecv(in, cnt, ty, right, 0, out, cnt, ty, left, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

// NCCL's Wait() only orders the caller's stream; the benchmark waits on the host, like MPI.
Status WaitFor(const Case& c, const comm::WorkPtr& w) {
  return c.device ? w->Wait(std::chrono::minutes(5)) : w->Wait();
}

Status OgaiOnce(comm::ProcessGroup& pg, Case& c, bool in_place) {
  char* in = c.device ? c.din : c.in.data();
  char* out = c.device ? c.dout : c.out.data();
  if (c.op == "allreduce") return WaitFor(c, pg.AllReduce(in, in_place ? in : out, c.count, c.t, c.redop));
  if (c.op == "allgather") {
    // In-place: the own block already sits in the output.
    const char* src = in_place ? out + static_cast<size_t>(c.rank) * c.count * c.es : in;
    return WaitFor(c, pg.AllGather(src, out, c.count, c.t));
  }
  if (c.op == "reducescatter") {
    char* dst = in_place ? in + static_cast<size_t>(c.rank) * c.count * c.es : out;
    return WaitFor(c, pg.ReduceScatter(in, dst, c.count, c.t, c.redop));
  }
  if (c.op == "broadcast") return WaitFor(c, pg.Broadcast(out, c.count, c.t, 0));
  const int right = (c.rank + 1) % c.n, left = (c.rank - 1 + c.n) % c.n;
  auto r = pg.Recv(out, c.count, c.t, left, 0);
  auto s = pg.Send(in, c.count, c.t, right, 0);
  Status st = WaitFor(c, s);
  Status st2 = WaitFor(c, r);
  return st.ok() ? st2 : st;
}

// Result pointer of a checked run, given in_place.
const void* ResultOf(const Case& c, bool in_place) {
  if (c.op == "allreduce") return in_place ? c.in.data() : c.out.data();
  if (c.op == "reducescatter")
    return in_place ? c.in.data() + static_cast<size_t>(c.rank) * c.count * c.es : c.out.data();
  return c.out.data();
}

// nccl: host buffers to the GPU (after Prepare) and back (before checking).
void ToDevice(Case& c) {
#if OGAI_HAVE_NCCL
  if (!c.device) return;
  cudaFree(c.din);
  cudaFree(c.dout);
  c.din = c.dout = nullptr;
  if (cudaMalloc(reinterpret_cast<void**>(&c.din), c.in.size()) != cudaSuccess ||
      cudaMalloc(reinterpret_cast<void**>(&c.dout), c.out.size()) != cudaSuccess) {
    std::fprintf(stderr, "ogai-bench coll: cudaMalloc of %zu + %zu bytes failed\n", c.in.size(), c.out.size());
    std::abort();  // the benchmark cannot continue without its buffers (MPI would hang on a return)
  }
  cudaMemcpy(c.din, c.in.data(), c.in.size(), cudaMemcpyHostToDevice);
  cudaMemcpy(c.dout, c.out.data(), c.out.size(), cudaMemcpyHostToDevice);
#endif
}
void FromDevice(Case& c) {
#if OGAI_HAVE_NCCL
  if (!c.device) return;
  cudaMemcpy(c.in.data(), c.din, c.in.size(), cudaMemcpyDeviceToHost);
  cudaMemcpy(c.out.data(), c.dout, c.out.size(), cudaMemcpyDeviceToHost);
#endif
}
void FreeDevice(Case& c) {
#if OGAI_HAVE_NCCL
  if (c.device) {
    cudaFree(c.din);
    cudaFree(c.dout);
  }
  c.din = c.dout = nullptr;
#endif
}

void PrepareInPlace(Case& c) {
  c.Prepare();
  if (c.op == "allgather") Fill(c.out.data() + static_cast<size_t>(c.rank) * c.count * c.es, c.count, c.t, c.rank);
}

struct Timing {
  double mean_us = 0;    // the slowest rank's mean over the timed loop
  double median_us = 0;  // the slowest rank's median iteration (--median; 0 without)
};

// --median also stamps every iteration (one clock read each, for ogai and MPI alike): on a
// loaded machine the median iteration says what the operation costs when both ranks run,
// where the mean mostly measures the preemptions.
template <typename F>
Timing TimeIt(int warmup, int iters, bool median, F once) {
  for (int i = 0; i < warmup; ++i) once();
  std::vector<double> each;
  if (median) each.reserve(static_cast<size_t>(iters));
  MPI_Barrier(MPI_COMM_WORLD);
  auto t0 = std::chrono::steady_clock::now();
  auto last = t0;
  for (int i = 0; i < iters; ++i) {
    once();
    if (median) {
      auto now = std::chrono::steady_clock::now();
      each.push_back(std::chrono::duration<double, std::micro>(now - last).count());
      last = now;
    }
  }
  Timing t;
  double local[2] = {std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / iters,
                     0};
  if (median && !each.empty()) {
    std::nth_element(each.begin(), each.begin() + static_cast<long>(each.size() / 2), each.end());
    local[1] = each[each.size() / 2];
  }
  double worst[2] = {0, 0};
  MPI_Allreduce(local, worst, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  t.mean_us = worst[0];
  t.median_us = worst[1];
  return t;
}

int RunColl(int argc, char** argv) {
  Opts o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--op")
      o.op = next();
    else if (a == "--backend")
      o.backend = next();
    else if (a == "--min-bytes")
      o.min_bytes = ParseBytes(next());
    else if (a == "--max-bytes")
      o.max_bytes = ParseBytes(next());
    else if (a == "--dtype")
      o.dtype = next();
    else if (a == "--redop")
      o.redop = next();
    else if (a == "--iters")
      o.iters = std::atoi(next().c_str());
    else if (a == "--warmup")
      o.warmup = std::atoi(next().c_str());
    else if (a == "--json")
      o.json = true;
    else if (a == "--no-check")
      o.check = false;
    else if (a == "--median")
      o.median = true;
    else if (a == "--help" || a == "-h") {
      Usage();
      return 0;
    } else {
      std::fprintf(stderr, "ogai-bench coll: unknown option '%s'\n", a.c_str());
      Usage();
      return 2;
    }
  }
  const std::vector<std::string> ops = {"allreduce", "allgather", "reducescatter", "broadcast", "sendrecv"};
  if (std::find(ops.begin(), ops.end(), o.op) == ops.end()) {
    std::fprintf(stderr, "ogai-bench coll: unknown --op '%s'\n", o.op.c_str());
    return 2;
  }
#if OGAI_HAVE_NCCL
  const bool backend_ok = o.backend == "ucx" || o.backend == "mpi" || o.backend == "nccl";
#else
  const bool backend_ok = o.backend == "ucx" || o.backend == "mpi";
#endif
  if (!backend_ok) {
    std::fprintf(stderr, "ogai-bench coll: --backend must be ucx, mpi or (in a build with CUDA and NCCL) nccl\n");
    return 2;
  }
  auto dtype = comm::ParseDataType(o.dtype);
  auto redop = comm::ParseReduceOp(o.redop);
  if (!dtype.ok() || !redop.ok() || *dtype == DataType::kFloat16) {
    std::fprintf(stderr, "ogai-bench coll: --dtype must be fp32 or bf16, --redop sum|avg|max|min\n");
    return 2;
  }
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, n = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  SetLogRank(rank);
  int rc = 0;
  {
    // MPI bootstraps the group (no store); the launcher facts come from the rank contract.
    comm::ProcessGroupOptions po;
    if (auto env = launch::DetectRankEnv(); env.ok()) {
      po.mpi_launcher = env->mpi_launcher;
      po.local_world_size = env->local_world_size;
      po.local_rank = env->local_rank;
    }
    // nccl needs a store for its unique id: rank 0 hosts one, MPI tells the others where.
    std::shared_ptr<store::Store> store;
#if OGAI_HAVE_NCCL
    std::unique_ptr<store::StoreServer> server;
    if (o.backend == "nccl") {
      int port = 0;
      char host[MPI_MAX_PROCESSOR_NAME] = {};
      if (rank == 0) {
        auto s = store::StoreServer::Start("0.0.0.0", 0, "ogai-bench-coll");
        if (s.ok()) {
          server = std::move(*s);
          port = server->port();
        }
        int len = 0;
        MPI_Get_processor_name(host, &len);
      }
      MPI_Bcast(&port, 1, MPI_INT, 0, MPI_COMM_WORLD);
      MPI_Bcast(host, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, MPI_COMM_WORLD);
      auto conn = port > 0 ? store::ConnectTcpStore(rank == 0 ? "127.0.0.1" : host, port, "ogai-bench-coll",
                                                    std::chrono::seconds(30))
                           : Result<std::unique_ptr<store::Store>>(Unavailable("rank 0 could not start a store"));
      if (!conn.ok()) {
        std::fprintf(stderr, "ogai-bench coll: rank %d: %s\n", rank, conn.status().ToString().c_str());
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
      store = std::shared_ptr<store::Store>(std::move(*conn));
      int devices = 0;
      if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        std::fprintf(stderr, "ogai-bench coll: rank %d: no CUDA device visible for --backend nccl\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
      cudaSetDevice(po.local_rank % devices);  // the device the nccl group picks (comm/nccl)
    }
#endif
    auto pg = comm::CreateProcessGroup(o.backend, store, rank, n, po);
    if (!pg.ok()) {
      if (rank == 0) std::fprintf(stderr, "ogai-bench coll: %s\n", pg.status().ToString().c_str());
      MPI_Finalize();
      return 1;
    }
    // The layout: nodes, each pair's transport, the raw TCP stream between two nodes; on
    // several nodes the same collectives forced flat (a ring over every rank), same run.
    const CollLayout layout = MeasureLayout(**pg, size_t{64} << 20);
    std::unique_ptr<comm::ProcessGroup> flat;
    if (layout.nodes > 1 && o.backend == "ucx" && (o.op == "allreduce" || o.op == "reducescatter")) {
      comm::ProcessGroupOptions fo = po;
      fo.name = "flat";
      fo.flat_collectives = true;
      auto f = comm::CreateProcessGroup(o.backend, nullptr, rank, n, fo);
      if (!f.ok()) {
        if (rank == 0) std::fprintf(stderr, "ogai-bench coll: flat group: %s\n", f.status().ToString().c_str());
        MPI_Finalize();
        return 1;
      }
      flat = std::move(*f);
    }
    const size_t es = comm::DataTypeSize(*dtype);
    const bool mpi_baseline = *dtype == DataType::kFloat32 && *redop != ReduceOp::kAvg;
    if (rank == 0 && !o.json) {
      std::printf("# ogai-bench coll: op %s, backend %s, %d ranks, MPI baseline: %s\n", o.op.c_str(), o.backend.c_str(),
                  n, mpi_baseline ? "same processes, same run" : "none (MPI has no bf16 / avg)");
      std::printf("# %d node(s); raw TCP stream rank 0 -> first rank on another node: %.3f GB/s; transports %s\n",
                  layout.nodes, layout.tcp_stream_gbs, layout.transports_json.c_str());
      if (flat) std::printf("# flat: the same op forced flat (ring over every rank), out-of-place busbw\n");
      std::printf("#%11s %12s %8s %6s | %10s %8s %8s %7s | %10s %8s %8s %7s | %10s %8s %6s\n", "", "", "", "",
                  "out-of-place", "", "", "", "in-place", "", "", "", "MPI", "", "");
      std::printf("#%11s %12s %8s %6s | %10s %8s %8s %7s | %10s %8s %8s %7s | %10s %8s %6s\n", "size(B)", "count",
                  "type", "redop", "time(us)", "algbw", "busbw", "#wrong", "time(us)", "algbw", "busbw", "#wrong",
                  "time(us)", "busbw", "ratio");
    }
    const int unit = (o.op == "allgather" || o.op == "reducescatter") ? n : 1;
    for (size_t bytes = std::max<size_t>(o.min_bytes, es * static_cast<size_t>(unit)); bytes <= o.max_bytes;
         bytes *= 2) {
      Case c{o.op, *dtype, *redop, rank, n, bytes, bytes / es / static_cast<size_t>(unit), es, {}, {}};
      c.device = o.backend == "nccl";
      int iters = o.iters > 0 ? o.iters : static_cast<int>(std::clamp<size_t>((size_t{1} << 30) / bytes, 5, 2000));
      int warmup = o.warmup >= 0 ? o.warmup : std::max(2, iters / 10);
      long wrong[2] = {0, 0};
      double t[2], med[2] = {0, 0};
      Status bad;
      for (int ip = 0; ip < 2; ++ip) {
        if (o.op == "broadcast" || o.op == "sendrecv") {
          if (ip == 1) {
            t[1] = t[0];
            wrong[1] = 0;
            continue;
          }  // in-place by nature
        }
        ip ? PrepareInPlace(c) : c.Prepare();
        ToDevice(c);
        if (o.check) {
          Status st = OgaiOnce(**pg, c, ip == 1);
          if (!st.ok()) bad = st;
          FromDevice(c);
          wrong[ip] = c.Wrong(ResultOf(c, ip == 1));
        }
        const Timing tm = TimeIt(warmup, iters, o.median, [&] {
          Status st = OgaiOnce(**pg, c, ip == 1);
          if (!st.ok() && bad.ok()) bad = st;
        });
        t[ip] = tm.mean_us;
        med[ip] = tm.median_us;
      }
      FreeDevice(c);
      if (!bad.ok()) {
        std::fprintf(stderr, "rank %d: %s\n", rank, bad.ToString().c_str());
        rc = 1;
        break;
      }
      long total_wrong[2];
      MPI_Allreduce(wrong, total_wrong, 2, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
      double flat_t = 0;
      if (flat) {
        c.Prepare();
        flat_t = TimeIt(warmup, iters, false, [&] {
                   Status st = OgaiOnce(*flat, c, false);
                   if (!st.ok() && bad.ok()) bad = st;
                 }).mean_us;
        if (!bad.ok()) {
          std::fprintf(stderr, "rank %d (flat): %s\n", rank, bad.ToString().c_str());
          rc = 1;
        }
      }
      double mpi_t = 0, mpi_med = 0;
      if (mpi_baseline) {
        c.Prepare();
        const Timing tm = TimeIt(warmup, iters, o.median, [&] { MpiOnce(c, false); });
        mpi_t = tm.mean_us;
        mpi_med = tm.median_us;
      }
      if (total_wrong[0] + total_wrong[1] > 0) rc = 1;
      if (rank == 0) {
        const double algbw = bytes / t[0] / 1e3, busbw = algbw * c.BusFactor();
        const double algbw_ip = bytes / t[1] / 1e3, busbw_ip = algbw_ip * c.BusFactor();
        const double mpi_busbw = mpi_baseline ? bytes / mpi_t / 1e3 * c.BusFactor() : 0;
        const double ratio = mpi_baseline ? busbw / mpi_busbw : 0;
        const double flat_busbw = flat ? bytes / flat_t / 1e3 * c.BusFactor() : 0;
        if (o.json) {
          std::printf(
              "{\"op\":\"%s\",\"backend\":\"%s\",\"ranks\":%d,\"bytes\":%zu,\"count\":%zu,\"type\":\"%s\",\"redop\":\"%"
              "s\","
              "\"time_us\":%.3f,\"algbw_gbs\":%.4f,\"busbw_gbs\":%.4f,\"wrong\":%ld,"
              "\"inplace_time_us\":%.3f,\"inplace_busbw_gbs\":%.4f,\"mpi_time_us\":%.3f,"
              "\"mpi_busbw_gbs\":%.4f,\"ratio_vs_mpi\":%.4f,\"nodes\":%d,\"flat_time_us\":%.3f,"
              "\"flat_busbw_gbs\":%.4f,\"ratio_vs_flat\":%.4f,\"tcp_stream_gbs\":%.4f,\"ratio_vs_tcp\":%.4f,"
              "\"median_time_us\":%.3f,\"mpi_median_time_us\":%.3f,\"ratio_vs_mpi_median\":%.4f,"
              "\"transports\":%s}\n",
              o.op.c_str(), o.backend.c_str(), n, bytes, c.count, comm::DataTypeName(*dtype),
              comm::ReduceOpName(*redop), t[0], algbw, busbw, total_wrong[0] + total_wrong[1], t[1], busbw_ip, mpi_t,
              mpi_busbw, ratio, layout.nodes, flat_t, flat_busbw, flat ? busbw / flat_busbw : 0.0,
              layout.tcp_stream_gbs, layout.tcp_stream_gbs > 0 ? busbw / layout.tcp_stream_gbs : 0.0, med[0], mpi_med,
              med[0] > 0 && mpi_med > 0 ? mpi_med / med[0] : 0.0, layout.transports_json.c_str());
        } else {
          std::printf("%12zu %12zu %8s %6s | %10.2f %8.3f %8.3f %7ld | %10.2f %8.3f %8.3f %7ld | %10.2f %8.3f %6.2f\n",
                      bytes, c.count, comm::DataTypeName(*dtype), comm::ReduceOpName(*redop), t[0], algbw, busbw,
                      total_wrong[0], t[1], algbw_ip, busbw_ip, total_wrong[1], mpi_t, mpi_busbw, ratio);
        }
        std::fflush(stdout);
      }
    }
  }
  MPI_Finalize();
  return rc;
}

Command reg("coll", "collective benchmark (nccl-tests style, with an MPI baseline)", &RunColl);

}  // namespace
}  // namespace ogai::bench
