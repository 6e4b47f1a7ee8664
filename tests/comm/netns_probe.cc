// netns_probe: one rank of the multi-node comm tests (tests/comm/comm_netns_test.cc), started
// by ogai-run on the namespace cluster (scripts/testenv/netns.sh). It joins the job's store,
// builds the ucx world group and prints, on stdout:
//   host rank=R name=HOSTNAME                 the node this rank runs on (its UTS name)
//   pair R P TRANSPORT                        how rank R reaches rank P (ProcessGroup::TransportTo)
//   allreduce rank=R ok|wrong                 a 1M-element fp32 all-reduce checked exactly
// and exits 0 when everything worked.
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <string>
#include <vector>

#include "comm/process_group.h"
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
  std::shared_ptr<store::Store> st = store::MakePrefixStore(std::shared_ptr<store::Store>(std::move(*base)),
                                                            env->StorePrefix());
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
  out += "allreduce rank=" + std::to_string(r) + (ok ? " ok" : " wrong");
  Say(out);
  s = (*pg)->Barrier()->Wait();
  if (!s.ok()) return Fail(s.ToString());
  return ok ? 0 : 1;
}
