// netns_probe: one rank of the multi-node comm tests (tests/comm/comm_netns_test.cc), started
// by ogai-run on the namespace cluster (scripts/testenv/netns.sh). It joins the job's store,
// builds the ucx world group and prints, on stdout:
//   host rank=R name=HOSTNAME                 the node this rank runs on (its UTS name)
//   pair R P TRANSPORT                        how rank R reaches rank P (ProcessGroup::TransportTo)
//   allreduce rank=R ok|wrong                 a 1M-element fp32 all-reduce checked exactly
//   bits rank=R OP=CRC ...                    CRC-32C of the results of seeded random inputs
//                                             (fp32 and bf16 sum, fp32 avg, fp32
//                                             reduce-scatter; sizes below and above one
//                                             pipeline segment): the same on every layout
//                                             when the reduction order does not depend on it
// and exits 0 when everything worked.
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "comm/process_group.h"
#include "core/crc32c.h"
#include "core/rng.h"
#include "rank/rank_env.h"
#include "store/store.h"

namespace {

void Say(const std::string& s) {
  std::string line = s + "\n";
  ssize_t w = ::write(1, line.data(), line.size());
  (void)w;
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "netns_probe: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main() {
  using namespace ogai;
  auto env = launch::DetectRankEnv();
  if (!env.ok()) return Fail(env.status().ToString());
  auto base = store::ConnectTcpStore(env->master_addr, env->master_port, env->store_token, std::chrono::seconds(30));
  if (!base.ok()) return Fail(base.status().ToString());
  std::shared_ptr<store::Store> st =
      store::MakePrefixStore(std::shared_ptr<store::Store>(std::move(*base)), env->StorePrefix());
  comm::ProcessGroupOptions o;
  o.name = "world";
  o.timeout = std::chrono::seconds(60);
  o.local_world_size = env->local_world_size;
  o.local_rank = env->local_rank;
  auto pg = comm::CreateProcessGroup("ucx", st, env->rank, env->world_size, o);
  if (!pg.ok()) return Fail(pg.status().ToString());
  const int r = env->rank, n = env->world_size;
  char host[HOST_NAME_MAX + 1] = {};
  ::gethostname(host, HOST_NAME_MAX);
  std::string out = "host rank=" + std::to_string(r) + " name=" + host + "\n";
  for (int p = 0; p < n; ++p) {
    if (p != r) out += "pair " + std::to_string(r) + " " + std::to_string(p) + " " + (*pg)->TransportTo(p) + "\n";
  }
  const size_t count = 1 << 20;
  std::vector<float> send(count), recv(count);
  for (size_t i = 0; i < count; ++i) send[i] = static_cast<float>((i % 1000) + r);
  Status s = (*pg)->AllReduce(send.data(), recv.data(), count, comm::DataType::kFloat32, comm::ReduceOp::kSum)->Wait();
  if (!s.ok()) return Fail(s.ToString());
  bool ok = true;
  for (size_t i = 0; i < count && ok; ++i) {
    ok = recv[i] == static_cast<float>(n * static_cast<int>(i % 1000) + n * (n - 1) / 2);
  }
  out += "allreduce rank=" + std::to_string(r) + (ok ? " ok" : " wrong") + "\n";

  // Random inputs (the same per rank on every layout); results' CRCs.
  std::string bits = "bits rank=" + std::to_string(r);
  for (size_t n_el : {size_t{1000}, size_t{3} << 18}) {
    std::vector<float> x(n_el), y(n_el);
    for (size_t i = 0; i < n_el; ++i) x[i] = HashedNormal(7, static_cast<uint64_t>(r), i);
    auto crc = [](const void* p, size_t b) { return std::to_string(Crc32c(p, b)); };
    struct Case {
      const char* name;
      comm::DataType dt;
      comm::ReduceOp op;
    };
    for (Case c : {Case{"sum32", comm::DataType::kFloat32, comm::ReduceOp::kSum},
                   Case{"avg32", comm::DataType::kFloat32, comm::ReduceOp::kAvg},
                   Case{"sum16", comm::DataType::kBFloat16, comm::ReduceOp::kSum}}) {
      // bf16: the fp32 bits' upper halves (any bf16 pattern of finite values will do).
      std::vector<uint16_t> h(n_el), hy(n_el);
      for (size_t i = 0; i < n_el; ++i) {
        uint32_t u;
        std::memcpy(&u, &x[i], 4);
        h[i] = static_cast<uint16_t>(u >> 16);
      }
      const bool b16 = c.dt == comm::DataType::kBFloat16;
      s = (*pg)
              ->AllReduce(b16 ? static_cast<void*>(h.data()) : x.data(), b16 ? static_cast<void*>(hy.data()) : y.data(),
                          n_el, c.dt, c.op)
              ->Wait();
      if (!s.ok()) return Fail(s.ToString());
      bits += " " + std::string(c.name) + "_" + std::to_string(n_el) + "=" +
              (b16 ? crc(hy.data(), n_el * 2) : crc(y.data(), n_el * 4));
    }
    const size_t per = n_el / static_cast<size_t>(n);
    s = (*pg)->ReduceScatter(x.data(), y.data(), per, comm::DataType::kFloat32, comm::ReduceOp::kSum)->Wait();
    if (!s.ok()) return Fail(s.ToString());
    // Every rank's block, gathered, so one CRC covers the whole result.
    std::vector<float> all(per * static_cast<size_t>(n));
    s = (*pg)->AllGather(y.data(), all.data(), per, comm::DataType::kFloat32)->Wait();
    if (!s.ok()) return Fail(s.ToString());
    bits += " rs32_" + std::to_string(n_el) + "=" + crc(all.data(), all.size() * 4);
  }
  out += bits;
  Say(out);
  s = (*pg)->Barrier()->Wait();
  if (!s.ok()) return Fail(s.ToString());
  return ok ? 0 : 1;
}
