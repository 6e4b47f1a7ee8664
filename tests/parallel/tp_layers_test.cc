// Tensor-parallel layers against the dense model, forward and backward: TP groups of 2 and
// 4 real processes (started by ogai-run) run one step of the small GPT; the loss (forward
// through column-parallel QKV / MLP-up, row-parallel attention-out / MLP-down with their
// all-reduces, the vocab-parallel embedding and cross-entropy) matches the dense model's,
// and every rank's gradient shard equals the matching slice of the dense gradient. Also with
// train.recompute=full on the TP ranks: the chunked vocab-parallel head (its max and sum
// all-reduces chunk by chunk) gives the same loss and gradients within fp32 tolerance.
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "tests/util/child.h"
#include "tests/util/job.h"

namespace {

struct Tensor {
  int shard_dim = -1;
  long shard_begin = 0, rows = 0, cols = 0, gcols = 0;
  std::vector<double> v;
};
struct Dump {
  double loss = 0;
  std::map<std::string, Tensor> t;
};

Dump Read(const std::string& path) {
  Dump d;
  std::ifstream in(path);
  std::string word, name;
  in >> word >> d.loss;
  while (in >> word) {
    Tensor t;
    in >> name >> t.shard_dim >> t.shard_begin >> t.rows >> t.cols >> t.gcols;
    t.v.resize(t.rows * t.cols);
    for (auto& x : t.v) in >> x;
    d.t[name] = std::move(t);
  }
  return d;
}

class TpLayers : public ::testing::TestWithParam<std::tuple<int, std::string>> {};

TEST_P(TpLayers, ShardsMatchTheDenseModel) {
  const int tp = std::get<0>(GetParam());
  const std::string recompute = std::get<1>(GetParam());
  const ogai::testing::TempDir tmp("ogai_tp_layers");
  const std::string& dir = tmp.path();
  const std::string build = ogai::testing::BuildDir();
  const auto run = ogai::testing::RunChild({build + "/bin/ogai-run", "-np", std::to_string(tp), "--oversubscribe", "--",
                                            build + "/bin/tp_grad_worker", dir, std::to_string(tp), recompute},
                                           /*timeout_s=*/240);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const Dump dense = Read(dir + "/dense.txt");
  ASSERT_GT(dense.t.size(), 10u);
  for (int r = 0; r < tp; ++r) {
    const Dump d = Read(dir + "/rank" + std::to_string(r) + ".txt");
    EXPECT_NEAR(d.loss, dense.loss, 1e-5 * dense.loss) << "forward, rank " << r;
    ASSERT_EQ(d.t.size(), dense.t.size());
    for (const auto& [name, s] : d.t) {
      const Tensor& full = dense.t.at(name);
      EXPECT_EQ(s.gcols, full.cols) << name;
      if (s.shard_dim < 0)
        EXPECT_EQ(s.rows * s.cols, full.rows * full.cols) << name << " should be replicated";
      else
        EXPECT_EQ(s.rows * s.cols * tp, full.rows * full.cols) << name << " should be split " << tp << " ways";
      int bad = 0;
      for (long i = 0; i < s.rows; ++i)
        for (long j = 0; j < s.cols; ++j) {
          const long gi = s.shard_dim == 0 ? i + s.shard_begin : i;
          const long gj = s.shard_dim == 1 ? j + s.shard_begin : j;
          const double want = full.v[gi * full.cols + gj], got = s.v[i * s.cols + j];
          if (std::fabs(got - want) > 1e-5 + 1e-4 * std::fabs(want) && bad++ < 3)
            ADD_FAILURE() << "rank " << r << " " << name << "[" << gi << "," << gj << "] grad " << got << " vs dense "
                          << want;
        }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TpSizes, TpLayers,
                         ::testing::Combine(::testing::Values(2, 4),
                                            ::testing::Values(std::string("none"), std::string("full"))),
                         [](const auto& info) {
                           return "tp" + std::to_string(std::get<0>(info.param)) + "_" + std::get<1>(info.param);
                         });

}  // namespace
