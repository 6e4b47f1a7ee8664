// One rank of the multi-process comm tests. Started by comm_test through the spawner (with
// a store) or through mpirun. Exit code 0 means every check passed; failures are printed.
//
//   comm_worker --backend ucx|mpi --scenario sweep|determinism|missing|mesh|overlap
//               [--dtype fp32|bf16|fp16] [--large N]
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "comm/device_mesh.h"
#include "comm/process_group.h"
#include "comm/types.h"
#include "core/log.h"
#include "rank/rank_env.h"
#include "store/store.h"

using namespace ogai;
using namespace ogai::comm;
using namespace std::chrono_literals;

namespace {

int g_failures = 0;
int g_rank = 0, g_world = 1;

#define CHECK_OR_FAIL(cond, ...)                      \
  do {                                                \
    if (!(cond)) {                                    \
      ++g_failures;                                   \
      std::fprintf(stderr, "rank %d FAIL: ", g_rank); \
      std::fprintf(stderr, __VA_ARGS__);              \
      std::fprintf(stderr, "\n");                     \
    }                                                 \
  } while (0)

std::string Arg(int argc, char** argv, const char* name, const char* def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return def;
}

int EnvInt(const char* a, const char* b, int def) {
  for (const char* n : {a, b}) {
    if (n == nullptr) continue;
    if (const char* v = std::getenv(n)) return std::atoi(v);
  }
  return def;
}

void Put(void* buf, size_t i, DataType t, float v) {
  switch (t) {
    case DataType::kFloat32: static_cast<float*>(buf)[i] = v; break;
    case DataType::kBFloat16: static_cast<uint16_t*>(buf)[i] = FloatToBf16(v); break;
    case DataType::kFloat16: static_cast<_Float16*>(buf)[i] = static_cast<_Float16>(v); break;
  }
}
float Get(const void* buf, size_t i, DataType t) {
  switch (t) {
    case DataType::kFloat32: return static_cast<const float*>(buf)[i];
    case DataType::kBFloat16: return Bf16ToFloat(static_cast<const uint16_t*>(buf)[i]);
    case DataType::kFloat16: return static_cast<float>(static_cast<const _Float16*>(buf)[i]);
  }
  return 0;
}
// The value rank r contributes at element i: small integers, so sums are exact in bf16.
float Val(int r, size_t i) { return static_cast<float>((r + 1) * static_cast<int>((i % 7) + 1)); }
float RoundTo(DataType t, float v) {
  std::vector<char> b(4);
  Put(b.data(), 0, t, v);
  return Get(b.data(), 0, t);
}

struct Buf {
  std::vector<char> bytes;
  DataType t;
  Buf(size_t n, DataType t_) : bytes(n * DataTypeSize(t_) + 1), t(t_) {}
  void* p() { return bytes.data(); }
};

// Compares got[i] with want(i) for i < n; reports the first mismatch.
template <typename F>
void Expect(const char* what, const Buf& got, size_t n, F want) {
  for (size_t i = 0; i < n; ++i) {
    float g = Get(got.bytes.data(), i, got.t), w = RoundTo(got.t, want(i));
    if (g != w) {
      CHECK_OR_FAIL(false, "%s: element %zu of %zu is %g, want %g", what, i, n, g, w);
      return;
    }
  }
}

void Sweep(ProcessGroup& pg, DataType t, size_t large) {
  const int n = pg.size(), r = pg.rank();
  const double tri = n * (n + 1) / 2.0;
  for (size_t count : {size_t{0}, size_t{1}, size_t{7}, large}) {
    for (int inplace = 0; inplace < 2; ++inplace) {
      char what[160];
      // all-reduce, every op
      for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax, ReduceOp::kMin}) {
        Buf in(count, t), out(count, t);
        for (size_t i = 0; i < count; ++i) Put(in.p(), i, t, Val(r, i));
        Status st = inplace ? pg.AllReduce(in.p(), in.p(), count, t, op)->Wait()
                            : pg.AllReduce(in.p(), out.p(), count, t, op)->Wait();
        std::snprintf(what, sizeof(what), "allreduce %s %s count=%zu inplace=%d", ReduceOpName(op), DataTypeName(t),
                      count, inplace);
        CHECK_OR_FAIL(st.ok(), "%s: %s", what, st.ToString().c_str());
        Expect(what, inplace ? in : out, count, [&](size_t i) {
          float base = static_cast<float>((i % 7) + 1);
          switch (op) {
            case ReduceOp::kSum: return static_cast<float>(base * tri);
            case ReduceOp::kAvg: return RoundTo(t, static_cast<float>(base * tri)) / static_cast<float>(n);
            case ReduceOp::kMax: return base * static_cast<float>(n);
            case ReduceOp::kMin: return base;
          }
          return 0.0f;
        });
      }
      // reduce-scatter (sum): block size count / n (at least the small counts)
      {
        size_t c = count >= static_cast<size_t>(n) * 4 ? count / static_cast<size_t>(n) : count;
        Buf in(c * static_cast<size_t>(n), t), out(c, t);
        for (size_t i = 0; i < c * static_cast<size_t>(n); ++i) Put(in.p(), i, t, Val(r, i));
        void* dst = inplace ? static_cast<char*>(in.p()) + static_cast<size_t>(r) * c * DataTypeSize(t) : out.p();
        Status st = pg.ReduceScatter(in.p(), dst, c, t, ReduceOp::kSum)->Wait();
        std::snprintf(what, sizeof(what), "reducescatter %s count=%zu inplace=%d", DataTypeName(t), c, inplace);
        CHECK_OR_FAIL(st.ok(), "%s: %s", what, st.ToString().c_str());
        Buf res(c, t);
        if (c) std::memcpy(res.p(), dst, c * DataTypeSize(t));
        Expect(what, res, c, [&](size_t j) {
          size_t i = static_cast<size_t>(r) * c + j;
          return static_cast<float>(((i % 7) + 1) * tri);
        });
      }
      // all-gather
      {
        size_t c = count >= static_cast<size_t>(n) * 4 ? count / static_cast<size_t>(n) : count;
        Buf in(c, t), out(c * static_cast<size_t>(n), t);
        for (size_t i = 0; i < c; ++i) Put(in.p(), i, t, Val(r, i));
        const void* src = in.p();
        if (inplace) {
          if (c)
            std::memcpy(static_cast<char*>(out.p()) + static_cast<size_t>(r) * c * DataTypeSize(t), in.p(),
                        c * DataTypeSize(t));
          src = static_cast<char*>(out.p()) + static_cast<size_t>(r) * c * DataTypeSize(t);
        }
        Status st = pg.AllGather(src, out.p(), c, t)->Wait();
        std::snprintf(what, sizeof(what), "allgather %s count=%zu inplace=%d", DataTypeName(t), c, inplace);
        CHECK_OR_FAIL(st.ok(), "%s: %s", what, st.ToString().c_str());
        Expect(what, out, c * static_cast<size_t>(n),
               [&](size_t i) { return Val(static_cast<int>(i / (c ? c : 1)), i % (c ? c : 1)); });
      }
      if (inplace) continue;  // broadcast and send/recv are in-place by nature
      // broadcast from the last rank
      {
        Buf b(count, t);
        for (size_t i = 0; i < count; ++i) Put(b.p(), i, t, Val(r, i));
        Status st = pg.Broadcast(b.p(), count, t, n - 1)->Wait();
        std::snprintf(what, sizeof(what), "broadcast %s count=%zu", DataTypeName(t), count);
        CHECK_OR_FAIL(st.ok(), "%s: %s", what, st.ToString().c_str());
        Expect(what, b, count, [&](size_t i) { return Val(n - 1, i); });
      }
      // ring send/recv, two tags, all posted before any wait
      if (n > 1) {
        const int right = (r + 1) % n, left = (r - 1 + n) % n;
        Buf s1(count, t), s2(count, t), r1(count, t), r2(count, t);
        for (size_t i = 0; i < count; ++i) {
          Put(s1.p(), i, t, Val(r, i));
          Put(s2.p(), i, t, Val(r, i) + 1);
        }
        auto w1 = pg.Recv(r1.p(), count, t, left, 7);
        auto w2 = pg.Recv(r2.p(), count, t, left, 9);
        auto w3 = pg.Send(s2.p(), count, t, right, 9);
        auto w4 = pg.Send(s1.p(), count, t, right, 7);
        std::snprintf(what, sizeof(what), "sendrecv %s count=%zu", DataTypeName(t), count);
        for (auto& w : {w1, w2, w3, w4}) {
          Status st = w->Wait();
          CHECK_OR_FAIL(st.ok(), "%s: %s", what, st.ToString().c_str());
        }
        Expect(what, r1, count, [&](size_t i) { return Val(left, i); });
        Expect(what, r2, count, [&](size_t i) { return Val(left, i) + 1; });
      }
      Status st = pg.Barrier()->Wait();
      CHECK_OR_FAIL(st.ok(), "barrier: %s", st.ToString().c_str());
    }
  }
}

uint64_t Fnv(const void* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
  return h;
}

// Random inputs: the same bits on every run and on every rank.
void Determinism(ProcessGroup& pg) {
  for (size_t count : {size_t{1000}, size_t{300001}}) {
    for (DataType t : {DataType::kFloat32, DataType::kBFloat16}) {
      Buf in(count, t);
      uint64_t s = 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(pg.rank() + 1);
      for (size_t i = 0; i < count; ++i) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        Put(in.p(), i, t, static_cast<float>(static_cast<int64_t>(s >> 11) % 2000001 - 1000000) * 1e-6f);
      }
      uint64_t h[2];
      for (int run = 0; run < 2; ++run) {
        Buf out(count, t);
        Status st = pg.AllReduce(in.p(), out.p(), count, t, ReduceOp::kSum)->Wait();
        CHECK_OR_FAIL(st.ok(), "determinism allreduce: %s", st.ToString().c_str());
        h[run] = Fnv(out.p(), count * DataTypeSize(t));
      }
      CHECK_OR_FAIL(h[0] == h[1], "determinism: two runs of allreduce %s count=%zu differ", DataTypeName(t), count);
      std::vector<uint64_t> all(static_cast<size_t>(pg.size()));
      Status st = pg.AllGather(&h[0], all.data(), 2, DataType::kFloat32)->Wait();
      CHECK_OR_FAIL(st.ok(), "determinism allgather: %s", st.ToString().c_str());
      for (int q = 0; q < pg.size(); ++q) {
        CHECK_OR_FAIL(all[static_cast<size_t>(q)] == h[0],
                      "determinism: rank %d got different bits than rank %d (%s count=%zu)", q, pg.rank(),
                      DataTypeName(t), count);
      }
    }
  }
}

// The ranks a timeout error lists as missing ("missing ranks [1, 2]"); empty if none.
std::vector<int> MissingRanks(const std::string& m) {
  std::vector<int> out;
  const std::string key = "missing ranks [";
  size_t pos = m.find(key);
  if (pos == std::string::npos) return out;
  pos += key.size();
  while (pos < m.size() && m[pos] != ']') {
    if (m[pos] >= '0' && m[pos] <= '9') {
      out.push_back(std::atoi(m.c_str() + pos));
      while (pos < m.size() && m[pos] >= '0' && m[pos] <= '9') ++pos;
    } else {
      ++pos;
    }
  }
  return out;
}

// A barrier outside the group under test (which is broken once its collective timed out):
// through the store when there is one, else through MPI on a communicator of its own. The
// absent rank stays alive, and every rank keeps its transport up, until each rank has seen
// its timeout; no sleep decides the order, so a loaded machine cannot turn the timeout into
// another error.
class SideBarrier {
 public:
  SideBarrier(std::shared_ptr<store::Store> st, int rank, int n) : st_(std::move(st)), rank_(rank), n_(n) {
    if (st_ == nullptr) MPI_Comm_dup(MPI_COMM_WORLD, &side_);
  }
  ~SideBarrier() {
    if (side_ != MPI_COMM_NULL) MPI_Comm_free(&side_);
  }
  void Arrive() {
    if (st_ == nullptr) {
      MPI_Barrier(side_);
      return;
    }
    Status s = st_->Set("missing/arrived/" + std::to_string(rank_), "1");
    CHECK_OR_FAIL(s.ok(), "store set: %s", s.ToString().c_str());
    std::vector<std::string> keys;
    for (int q = 0; q < n_; ++q) keys.push_back("missing/arrived/" + std::to_string(q));
    s = st_->Wait(keys, std::chrono::minutes(10));  // a hang guard, not a time bound
    CHECK_OR_FAIL(s.ok(), "side barrier: %s", s.ToString().c_str());
  }

 private:
  std::shared_ptr<store::Store> st_;
  int rank_, n_;
  MPI_Comm side_ = MPI_COMM_NULL;
};

// A rank that never joins the collective: the others fail with kTimeout, naming the group,
// the op and the absent rank, and the group refuses later calls. Nothing here measures time
// (the group's timeout decides when the others fail).
void Missing(ProcessGroup& pg, const std::string& backend, std::shared_ptr<store::Store> st) {
  const int n = pg.size(), absent = n - 1;
  static float x = 1;  // MPI keeps a timed-out collective's buffer until exit
  SideBarrier side(std::move(st), pg.rank(), n);
  if (pg.rank() == absent) {
    side.Arrive();
    if (backend == "mpi") (void)pg.AllReduce(&x, &x, 1, DataType::kFloat32, ReduceOp::kSum)->Wait(5000ms);
    return;
  }
  Status st_ar = pg.AllReduce(&x, &x, 1, DataType::kFloat32, ReduceOp::kSum)->Wait();
  std::fprintf(stderr, "rank %d: %s\n", pg.rank(), st_ar.ToString().c_str());
  CHECK_OR_FAIL(st_ar.code() == Code::kTimeout, "missing rank: want Timeout, got %s", st_ar.ToString().c_str());
  const std::string& m = st_ar.message();
  CHECK_OR_FAIL(m.find("allreduce") != std::string::npos, "error does not name the op: %s", m.c_str());
  CHECK_OR_FAIL(m.find("'world'") != std::string::npos, "error does not name the group: %s", m.c_str());
  // A slow peer may also be listed (it did not answer the probe in time); the absent rank
  // always is.
  const std::vector<int> missing = MissingRanks(m);
  CHECK_OR_FAIL(std::find(missing.begin(), missing.end(), absent) != missing.end(),
                "error does not name the missing rank %d: %s", absent, m.c_str());
  // The group is unusable afterwards and says why.
  Status again = pg.Barrier()->Wait();
  CHECK_OR_FAIL(!again.ok() && again.message().find("earlier failure") != std::string::npos, "after a failure: %s",
                again.ToString().c_str());
  side.Arrive();
}

void Mesh(ProcessGroup& world) {
  const int n = world.size();
  int tp = 1, dp = 1, pp = 1;
  if (n == 8)
    tp = dp = pp = 2;
  else if (n == 4)
    tp = dp = 2;
  else if (n == 2)
    tp = 2;
  else
    dp = n;
  auto mesh = DeviceMesh::Create(&world, tp, dp, pp);
  CHECK_OR_FAIL(mesh.ok(), "mesh: %s", mesh.status().ToString().c_str());
  if (!mesh.ok()) return;
  auto check = [&](ProcessGroup& g, const std::vector<int>& ranks, const char* which) {
    float v = static_cast<float>(world.rank()), want = 0;
    for (int q : ranks) want += static_cast<float>(q);
    Status st = g.AllReduce(&v, &v, 1, DataType::kFloat32, ReduceOp::kSum)->Wait();
    CHECK_OR_FAIL(st.ok() && v == want, "%s group %s: got %g want %g (%s)", which, g.name().c_str(), v, want,
                  st.ToString().c_str());
    CHECK_OR_FAIL(g.size() == static_cast<int>(ranks.size()), "%s size", which);
  };
  const int r = world.rank();
  check((*mesh)->tp(), DeviceMesh::TpRanks(r, tp, dp, pp), "tp");
  check((*mesh)->dp(), DeviceMesh::DpRanks(r, tp, dp, pp), "dp");
  check((*mesh)->pp(), DeviceMesh::PpRanks(r, tp, dp, pp), "pp");
  // Any subset: the odd ranks.
  if (r % 2 == 1) {
    std::vector<int> odd;
    for (int q = 1; q < n; q += 2) odd.push_back(q);
    auto g = world.NewGroup(odd, "odd");
    CHECK_OR_FAIL(g.ok(), "odd group: %s", g.status().ToString().c_str());
    if (g.ok()) check(**g, odd, "odd");
  }
  Status st = world.Barrier()->Wait();
  CHECK_OR_FAIL(st.ok(), "final barrier: %s", st.ToString().c_str());
}

void Overlap(ProcessGroup& pg) {
  const size_t count = 4 << 20;  // 16 MiB of fp32
  std::vector<float> buf(count);
  for (size_t i = 0; i < count; ++i) buf[i] = Val(pg.rank(), i);
  Status st = pg.Barrier()->Wait();
  auto w = pg.AllReduce(buf.data(), buf.data(), count, DataType::kFloat32, ReduceOp::kSum);
  // Compute and poll with Test() only, until it finishes: an all-reduce that needed Wait()
  // to progress never would, and the test's own deadline (the spawner's) fails it. No
  // wall-clock bound here: how long it takes depends on the machine's load.
  volatile double sink = 0;
  long rounds = 0;
  do {
    for (int i = 0; i < 200000; ++i) sink = sink + i * 0.5;  // "compute"
    ++rounds;
  } while (!w->Test());
  std::fprintf(stderr, "rank %d: allreduce finished while computing, after %ld rounds\n", pg.rank(), rounds);
  st = w->Wait();
  CHECK_OR_FAIL(st.ok(), "overlap: %s", st.ToString().c_str());
  const double tri = pg.size() * (pg.size() + 1) / 2.0;
  for (size_t i = 0; i < count; i += 4099) {
    if (buf[i] != static_cast<float>(((i % 7) + 1) * tri)) {
      CHECK_OR_FAIL(false, "overlap result wrong at %zu", i);
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string backend = Arg(argc, argv, "--backend", "ucx");
  const std::string scenario = Arg(argc, argv, "--scenario", "sweep");
  auto dtype = ParseDataType(Arg(argc, argv, "--dtype", "fp32"));
  const size_t large = std::strtoull(Arg(argc, argv, "--large", "1048579").c_str(), nullptr, 10);
  ApplyLogLevelFromEnv();
  g_rank = EnvInt("OGAI_TEST_RANK", "OMPI_COMM_WORLD_RANK", 0);
  g_world = EnvInt("OGAI_TEST_WORLD", "OMPI_COMM_WORLD_SIZE", 1);
  std::shared_ptr<store::Store> st;
  if (const char* port = std::getenv("OGAI_TEST_STORE_PORT")) {
    auto s = store::ConnectTcpStore("127.0.0.1", std::atoi(port), std::getenv("OGAI_TEST_STORE_TOKEN"), 20s);
    if (!s.ok()) {
      std::fprintf(stderr, "rank %d: %s\n", g_rank, s.status().ToString().c_str());
      return 1;
    }
    st = std::move(*s);
  }
  ProcessGroupOptions o;
  o.timeout = scenario == "missing" ? 1500ms : 120s;
  // What the launcher said, as train/dist_setup passes it.
  auto env = launch::DetectRankEnv();
  if (!env.ok()) {
    std::fprintf(stderr, "rank %d: %s\n", g_rank, env.status().ToString().c_str());
    return 1;
  }
  o.mpi_launcher = env->mpi_launcher;
  o.local_world_size = env->local_world_size;
  o.local_rank = env->local_rank;
  auto pg = CreateProcessGroup(backend, st, g_rank, g_world, o);
  if (!pg.ok()) {
    std::fprintf(stderr, "rank %d: %s\n", g_rank, pg.status().ToString().c_str());
    return 1;
  }
  if (scenario == "sweep")
    Sweep(**pg, *dtype, large);
  else if (scenario == "determinism")
    Determinism(**pg);
  else if (scenario == "missing")
    Missing(**pg, backend, st);
  else if (scenario == "mesh")
    Mesh(**pg);
  else if (scenario == "overlap")
    Overlap(**pg);
  else {
    std::fprintf(stderr, "unknown scenario %s\n", scenario.c_str());
    return 2;
  }
  if (g_failures == 0) std::fprintf(stderr, "rank %d: %s %s ok\n", g_rank, backend.c_str(), scenario.c_str());
  return g_failures == 0 ? 0 : 1;
}
