// model.device: the config's cross checks, device selection from LOCAL_RANK, the build and
// device checks (pure functions of a DeviceProbe, so they run without a GPU), and the
// trainer's refusal while the GPU step is not wired.
#include "train/device.h"

#include <gtest/gtest.h>

#include "train/trainer.h"

namespace ogai::train {
namespace {

Config Parse(const std::vector<std::string>& overrides) {
  auto r = ParseConfig("model:\n  layers: 1\n", "t.yaml", overrides);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Config{};
}

launch::RankEnv Env(int local_rank, int local_world) {
  launch::RankEnv e;
  e.local_rank = local_rank;
  e.local_world_size = local_world;
  return e;
}

TEST(DeviceConfig, DefaultIsCpuAndOnlyCpuOrCudaParse) {
  EXPECT_EQ(Parse({}).model.device, "cpu");
  EXPECT_EQ(Parse({"model.device=cuda"}).model.device, "cuda");
  auto r = ParseConfig("model:\n  device: gpu\n", "t.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("model.device"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("cuda"), std::string::npos) << r.status().message();
}

TEST(DeviceConfig, NcclRequiresCuda) {
  auto r = ParseConfig("parallel:\n  backend: nccl\n", "t.yaml");
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("'parallel.backend' (t.yaml:2) is 'nccl' but 'model.device'"), std::string::npos) << m;
  EXPECT_NE(m.find("is 'cpu'"), std::string::npos) << m;
  EXPECT_NE(m.find("set model.device: cuda"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  EXPECT_TRUE(ParseConfig("parallel:\n  backend: nccl\nmodel:\n  device: cuda\n", "t.yaml").ok());
  // Host backends with a GPU model are a choice (slow, but correct), not an error.
  EXPECT_TRUE(ParseConfig("parallel:\n  backend: ucx\nmodel:\n  device: cuda\n", "t.yaml").ok());
}

TEST(DeviceSelect, LocalRankPicksTheDevice) {
  for (int lr = 0; lr < 8; ++lr) {
    auto d = SelectCudaDevice(lr, 8, 8);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(*d, lr);
  }
  auto d = SelectCudaDevice(1, 2, 8);  // fewer ranks than GPUs: still LOCAL_RANK
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, 1);
}

TEST(DeviceSelect, TooManyRanksPerNode) {
  auto d = SelectCudaDevice(0, 4, 2);
  ASSERT_FALSE(d.ok());
  const std::string& m = d.status().message();
  EXPECT_NE(m.find("4 ranks on this node but only 2 visible CUDA device(s)"), std::string::npos) << m;
  EXPECT_NE(m.find("--nproc-per-node 2"), std::string::npos) << m;
}

TEST(DeviceSelect, NoDeviceAndBadEnv) {
  auto d = SelectCudaDevice(0, 1, 0);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kUnavailable);
  EXPECT_NE(d.status().message().find("no CUDA device is visible"), std::string::npos) << d.status().message();
  EXPECT_FALSE(SelectCudaDevice(2, 2, 8).ok());
  EXPECT_FALSE(SelectCudaDevice(-1, 2, 8).ok());
}

TEST(DeviceCheck, CpuNeedsNothing) {
  auto d = CheckDevice(Parse({}), Env(0, 1), DeviceProbe{false, 0});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, -1);
}

TEST(DeviceCheck, CudaNeedsACudaBuild) {
  auto d = CheckDevice(Parse({"model.device=cuda"}), Env(0, 1), DeviceProbe{false, 8});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kNotSupported);
  EXPECT_NE(d.status().message().find("built without CUDA"), std::string::npos) << d.status().message();
}

TEST(DeviceCheck, CudaNeedsAVisibleDevice) {
  auto d = CheckDevice(Parse({"model.device=cuda"}), Env(0, 1), DeviceProbe{true, 0});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("no CUDA device is visible"), std::string::npos) << d.status().message();
  d = CheckDevice(Parse({"model.device=cuda"}), Env(3, 4), DeviceProbe{true, 4});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, 3);
}

TEST(DeviceCheck, ProbeMatchesTheBuild) {
  const DeviceProbe p = ProbeDevices();
#if OGAI_TEST_CUDA_BUILT
  EXPECT_TRUE(p.cuda_built);
#else
  EXPECT_FALSE(p.cuda_built);
#endif
  EXPECT_GE(p.visible, 0);
}

TEST(DeviceTrainer, CudaIsRefusedSayingWhatIsMissing) {
  auto t = Trainer::Create(Parse({"model.device=cuda"}));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kNotSupported);
  EXPECT_NE(t.status().message().find("GPU trainer is not wired"), std::string::npos) << t.status().message();
  EXPECT_EQ(t.status().message().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace ogai::train
