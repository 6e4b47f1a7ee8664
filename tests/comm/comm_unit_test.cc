// Single-process tests: reduction kernels, device-mesh layout, progress engine, factory.
#include <atomic>
#include <cmath>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "comm/device_mesh.h"
#include "comm/process_group.h"
#include "comm/progress_engine.h"
#include "comm/reduce.h"
#include "comm/self_group.h"
#include "comm/ucx/ucx_process_group.h"

namespace ogai::comm {
namespace {

using namespace std::chrono_literals;

TEST(Reduce, Fp32AllOpsAndAliasing) {
  std::vector<float> a = {1, -2, 3, 4.5f, 0, 7, 8, 9, 10}, b = {2, 5, -1, 4.5f, -0.0f, 1, 2, 3, 4};
  std::vector<float> out(a.size());
  Reduce(out.data(), a.data(), b.data(), a.size(), DataType::kFloat32, ReduceOp::kSum);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(out[i], a[i] + b[i]);
  Reduce(out.data(), a.data(), b.data(), a.size(), DataType::kFloat32, ReduceOp::kMax);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(out[i], std::max(a[i], b[i]));
  Reduce(out.data(), a.data(), b.data(), a.size(), DataType::kFloat32, ReduceOp::kMin);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(out[i], std::min(a[i], b[i]));
  std::vector<float> acc = a;
  Reduce(acc.data(), acc.data(), b.data(), a.size(), DataType::kFloat32, ReduceOp::kSum);  // dst == a
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(acc[i], a[i] + b[i]);
  DivideInPlace(acc.data(), acc.size(), DataType::kFloat32, 4);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(acc[i], (a[i] + b[i]) / 4.0f);
}

TEST(Reduce, Bf16IsComputedInFp32AndRoundedToNearestEven) {
  // 1 + 2^-8 is not a bf16; it lies halfway between 1 and 1+2^-7 and rounds to even (1).
  EXPECT_EQ(FloatToBf16(1.0f + std::ldexp(1.0f, -8)), FloatToBf16(1.0f));
  EXPECT_EQ(FloatToBf16(1.0f + 3 * std::ldexp(1.0f, -8)), FloatToBf16(1.0f + std::ldexp(1.0f, -6)));
  EXPECT_TRUE(std::isnan(Bf16ToFloat(FloatToBf16(std::nanf("")))));
  std::vector<uint16_t> a(33), b(33), out(33);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = FloatToBf16(static_cast<float>(i) * 0.37f);
    b[i] = FloatToBf16(1.0f - static_cast<float>(i) * 0.11f);
  }
  Reduce(out.data(), a.data(), b.data(), a.size(), DataType::kBFloat16, ReduceOp::kSum);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(out[i], FloatToBf16(Bf16ToFloat(a[i]) + Bf16ToFloat(b[i]))) << i;
  }
}

TEST(Reduce, Fp16Sum) {
  std::vector<_Float16> a = {1, 2, 3, 65504}, b = {0.5, -2, 4, 0};
  std::vector<_Float16> out(4);
  Reduce(out.data(), a.data(), b.data(), 4, DataType::kFloat16, ReduceOp::kSum);
  EXPECT_EQ(static_cast<float>(out[0]), 1.5f);
  EXPECT_EQ(static_cast<float>(out[1]), 0.0f);
  EXPECT_EQ(static_cast<float>(out[2]), 7.0f);
  EXPECT_EQ(static_cast<float>(out[3]), 65504.0f);
}

TEST(DeviceMesh, MegatronOrderTpAdjacentPpOutermost) {
  // tp=2, dp=2, pp=2: rank = pp*4 + dp*2 + tp
  EXPECT_EQ(DeviceMesh::TpRanks(5, 2, 2, 2), (std::vector<int>{4, 5}));
  EXPECT_EQ(DeviceMesh::DpRanks(5, 2, 2, 2), (std::vector<int>{5, 7}));
  EXPECT_EQ(DeviceMesh::PpRanks(5, 2, 2, 2), (std::vector<int>{1, 5}));
  for (int r = 0; r < 24; ++r) {
    MeshCoord c = DeviceMesh::CoordOf(r, 2, 3, 4);
    EXPECT_EQ(DeviceMesh::RankOf(c, 2, 3, 4), r);
    EXPECT_EQ(r, c.pp * 6 + c.dp * 2 + c.tp);
  }
}

TEST(Factory, UnknownBackendAndMissingBootstrapAreClear) {
  auto pg = CreateProcessGroup("carrier-pigeon", nullptr, 0, 1);
  ASSERT_FALSE(pg.ok());
  EXPECT_NE(pg.status().message().find("unknown comm backend 'carrier-pigeon'"), std::string::npos);
  auto bad = CreateProcessGroup("ucx", nullptr, 3, 2);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

// The argument checks live in ProcessGroup (process_group_checks.cc), not in the backends:
// the same bad call gives the same Status from a real ucx group and from a self group, and
// a rejected call is not an operation of the group (the next valid one still works).
TEST(ArgumentChecks, SameStatusFromEveryBackend) {
  ProcessGroupOptions o;
  o.name = "g";
  o.timeout = 20s;
  auto ucx = ucx::CreateUcxProcessGroup(0, 1, o, [](const std::string& mine) {
    return Result<std::vector<std::string>>(std::vector<std::string>{mine});
  });
  ASSERT_TRUE(ucx.ok()) << ucx.status().ToString();
  std::unique_ptr<ProcessGroup> self = MakeSelfGroup(o);
  ASSERT_STREQ((*ucx)->backend(), "ucx");
  ASSERT_STREQ(self->backend(), "self");

  float buf[4] = {1, 2, 3, 4};
  const auto f32 = DataType::kFloat32;
  const auto sum = ReduceOp::kSum;
  using Call = std::function<WorkPtr(ProcessGroup&)>;
  const std::vector<std::pair<Call, std::string>> bad = {
      {[&](ProcessGroup& g) { return g.AllReduce(nullptr, buf, 4, f32, sum); }, "null buffer with 4 elements"},
      {[&](ProcessGroup& g) { return g.AllReduce(buf, buf, 4, static_cast<DataType>(9), sum); }, "unknown data type 9"},
      {[&](ProcessGroup& g) { return g.ReduceScatter(buf, buf, 4, f32, static_cast<ReduceOp>(-1)); },
       "unknown reduce op -1"},
      {[&](ProcessGroup& g) { return g.AllGather(buf, nullptr, 1, f32); }, "null buffer"},
      {[&](ProcessGroup& g) { return g.Broadcast(buf, 4, f32, 1); }, "broadcast root 1 is outside group 'g' of size 1"},
      {[&](ProcessGroup& g) { return g.Broadcast(buf, 4, f32, -1); }, "broadcast root -1 is outside group"},
      {[&](ProcessGroup& g) { return g.Send(buf, 4, f32, 0, 0); }, "send destination 0 is this rank itself"},
      {[&](ProcessGroup& g) { return g.Send(buf, 4, f32, 3, 0); }, "send destination 3 is outside group"},
      {[&](ProcessGroup& g) { return g.Recv(buf, 4, f32, -2, 0); }, "receive source -2 is outside group"},
      {[&](ProcessGroup& g) { return g.Recv(buf, 4, f32, 0, 70000); }, "receive source 0 is this rank itself"},
  };
  for (const auto& [call, want] : bad) {
    Status a = call(**ucx)->Wait(), b = call(*self)->Wait();
    EXPECT_EQ(a.code(), Code::kInvalidArgument) << a.ToString();
    EXPECT_EQ(a.ToString(), b.ToString());
    EXPECT_NE(a.message().find(want), std::string::npos) << a.ToString() << " lacks: " << want;
  }
  for (const std::vector<int>& ranks : {std::vector<int>{}, std::vector<int>{0, 0}, std::vector<int>{1}}) {
    auto a = (*ucx)->NewGroup(ranks, "sub");
    auto b = self->NewGroup(ranks, "sub");
    ASSERT_FALSE(a.ok());
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(a.status().code(), Code::kInvalidArgument) << a.status().ToString();
    EXPECT_EQ(a.status().ToString(), b.status().ToString());
  }
  // Zero elements with null buffers is valid; the rejected calls left the group usable.
  for (ProcessGroup* g : {ucx->get(), self.get()}) {
    EXPECT_TRUE(g->AllReduce(nullptr, nullptr, 0, f32, sum)->Wait().ok()) << g->backend();
    float x = 2, y = 0;
    Status st = g->AllReduce(&x, &y, 1, f32, sum)->Wait();
    EXPECT_TRUE(st.ok()) << g->backend() << ": " << st.ToString();
    EXPECT_EQ(y, 2.0f) << g->backend();
    auto sub = g->NewGroup({0}, "sub");
    ASSERT_TRUE(sub.ok()) << sub.status().ToString();
    EXPECT_EQ((*sub)->name(), "sub");
    EXPECT_EQ((*sub)->timeout(), o.timeout);  // sub-groups inherit the options
  }
}

TEST(Factory, NcclIsCompiledInAndSaysWhenNoGpu) {
  auto b = AvailableBackends();
  bool has_nccl = std::find(b.begin(), b.end(), "nccl") != b.end();
#ifdef OGAI_EXPECT_NCCL
  EXPECT_TRUE(has_nccl) << "CUDA and NCCL were found at configure time but the nccl backend is missing";
#endif
  if (!has_nccl) GTEST_SKIP() << "built without NCCL";
  auto pg = CreateProcessGroup("nccl", nullptr, 0, 1);
  ASSERT_FALSE(pg.ok());  // nccl needs a store
  EXPECT_NE(pg.status().message().find("store"), std::string::npos) << pg.status().ToString();
}

TEST(ProgressEngine, RunsInOrderOnTheThreadWithoutWait) {
  detail::ProgressEngine eng("unit", 5s, {});
  std::atomic<int> seen{0};
  std::vector<WorkPtr> ws;
  for (int i = 0; i < 5; ++i) {
    // Large ops wake the thread at once.
    ws.push_back(eng.Submit("op", 1 << 20, true, [&, i](const detail::OpContext& ctx) {
      EXPECT_EQ(static_cast<int>(ctx.seq), i);
      EXPECT_FALSE(ctx.on_caller_thread);
      int expect = i;
      EXPECT_TRUE(seen.compare_exchange_strong(expect, i + 1));
      return Status::Ok();
    }));
  }
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!ws.back()->Test() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(ws.back()->Test());
  EXPECT_EQ(seen.load(), 5);
}

TEST(ProgressEngine, SmallOpsRunOnWaitingCallerOrLaterOnThread) {
  detail::ProgressEngine eng("unit", 5s, {});
  auto w = eng.Submit("small", 8, true, [](const detail::OpContext&) { return Status::Ok(); });
  EXPECT_TRUE(w->Wait().ok());
  // Not waited on: the thread claims it after the claim delay.
  auto w2 = eng.Submit("small", 8, true, [](const detail::OpContext&) { return Status::Ok(); });
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!w2->Test() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(w2->Test());
}

TEST(ProgressEngine, FailureBreaksGroupAndAbortWorks) {
  detail::ProgressEngine eng("unit", 5s, {});
  std::atomic<bool> release{false};
  auto blocker = eng.Submit("blocker", 1 << 20, true, [&](const detail::OpContext& ctx) {
    while (!release.load() && !ctx.aborted()) std::this_thread::sleep_for(1ms);
    return ctx.aborted() ? Aborted("blocker aborted") : Status::Ok();
  });
  auto queued = eng.Submit("queued", 8, true, [](const detail::OpContext&) { return Status::Ok(); });
  queued->Abort();
  Status waited = blocker->Wait(20ms);
  EXPECT_EQ(waited.code(), Code::kTimeout) << waited.ToString();  // Wait's own timeout; op still runs
  blocker->Abort();
  EXPECT_EQ(blocker->Wait().code(), Code::kAborted);
  EXPECT_EQ(queued->Wait().code(), Code::kAborted);
  auto later = eng.Submit("later", 8, true, [](const detail::OpContext&) { return Status::Ok(); });
  Status st = later->Wait();
  EXPECT_EQ(st.code(), Code::kAborted);
  EXPECT_NE(st.message().find("earlier failure"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace ogai::comm
