#include "train/config.h"

#include <gtest/gtest.h>

namespace ogai {
namespace {

const char* kGood = R"(model:
  layers: 2
  heads: 4
  d_model: 64
  vocab: 256
  seq_len: 32
train:
  steps: 10
  micro_batch: 2
  lr: 1e-3
  schedule: cosine
)";

TEST(Config, ParsesTypedValues) {
  auto r = ParseConfig(kGood, "good.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model.layers, 2);
  EXPECT_EQ(r->model.heads, 4);
  EXPECT_EQ(r->model.seq_len, 32);
  EXPECT_EQ(r->train.steps, 10);
  EXPECT_DOUBLE_EQ(r->train.lr, 1e-3);
  EXPECT_EQ(r->train.schedule, "cosine");
  // Derived: one micro-batch per step, dp 1.
  EXPECT_EQ(r->train.grad_accum, 1);
  EXPECT_EQ(r->train.global_batch, 2);
}

TEST(Config, UnknownKeyNamesKeyLineAndSuggestion) {
  std::string y = std::string(kGood) + "  stpes: 5\n";
  auto r = ParseConfig(y, "broken.yaml");
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("broken.yaml:12"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown key 'train.stpes'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'train.steps'"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << "must be one line: " << m;
}

TEST(Config, UnknownSection) {
  auto r = ParseConfig("trian:\n  steps: 3\n", "x.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("x.yaml:1: unknown key 'trian'; did you mean 'train'?"), std::string::npos)
      << r.status().message();
}

TEST(Config, WrongTypeAndRange) {
  auto r = ParseConfig("train:\n  steps: many\n", "t.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("t.yaml:2: key 'train.steps' is 'many'; it must be an integer"),
            std::string::npos)
      << r.status().message();
  r = ParseConfig("model:\n  seq_len: 0\n", "t.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'model.seq_len' is '0'; it must be a value >= 1"), std::string::npos)
      << r.status().message();
  r = ParseConfig("train:\n  schedule: cosin\n", "t.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("one of cosine, linear, constant"), std::string::npos);
}

TEST(Config, ImpossibleRelationNamesBothKeysAndLines) {
  auto r = ParseConfig("model:\n  heads: 5\n  d_model: 64\n", "h.yaml");
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("'model.heads' (h.yaml:2) = 5 does not divide 'model.d_model' (h.yaml:3) = 64"), std::string::npos)
      << m;
}

TEST(Config, BatchDerivationAndConflicts) {
  auto r = ParseConfig("train:\n  micro_batch: 2\n  global_batch: 8\n", "b.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->train.grad_accum, 4);
  r = ParseConfig("train:\n  micro_batch: 3\n  global_batch: 8\n", "b.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a multiple"), std::string::npos);
  r = ParseConfig("train:\n  micro_batch: 2\n  global_batch: 8\n  grad_accum: 2\n", "b.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("give two of the three"), std::string::npos);
}

TEST(Config, OverridesApplyAndAreValidated) {
  auto r = ParseConfig(kGood, "good.yaml", {"train.steps=50", "model.init_std=0.01", "data.demo_seed=7"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->train.steps, 50);
  EXPECT_DOUBLE_EQ(r->model.init_std, 0.01);
  EXPECT_EQ(r->data.demo_seed, 7u);
  // Creates a missing section.
  r = ParseConfig(kGood, "good.yaml", {"checkpoint.dir=/tmp/x"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->checkpoint.dir, "/tmp/x");
  r = ParseConfig(kGood, "good.yaml", {"train.stepz=5"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown key 'train.stepz'; did you mean 'train.steps'"), std::string::npos)
      << r.status().message();
  r = ParseConfig(kGood, "good.yaml", {"train.steps=-3"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("command-line override 'train.steps=-3'"), std::string::npos)
      << r.status().message();
}

TEST(Config, GlobalBatchCountsDataParallelReplicas) {
  auto r = ParseConfig(kGood, "good.yaml", {"parallel.dp=2", "parallel.tp=2", "train.global_batch=8"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->train.grad_accum, 2);  // 8 = micro_batch 2 x accum 2 x dp 2
}

TEST(Config, SyntaxErrorHasLineAndColumn) {
  auto r = ParseConfig("model:\n  layers: [1, 2\n", "s.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("s.yaml:"), std::string::npos);
  EXPECT_NE(r.status().message().find("not valid YAML"), std::string::npos);
}

TEST(Config, MissingFile) {
  auto r = LoadConfig("/nonexistent/train.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/train.yaml"), std::string::npos);
}

TEST(Config, YamlRoundTrip) {
  auto r = ParseConfig(kGood, "good.yaml", {"data.paths=[a.bin, b.bin]"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string y = ConfigToYaml(*r);
  auto back = ParseConfig(y, "roundtrip.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << y;
  EXPECT_EQ(ConfigToYaml(*back), y);
  EXPECT_EQ(back->data.paths.size(), 2u);
}

TEST(Config, OverrideDetection) {
  EXPECT_TRUE(IsConfigOverride("train.steps=5"));
  EXPECT_FALSE(IsConfigOverride("train.yaml"));
  EXPECT_FALSE(IsConfigOverride("--x.y=1"));
  EXPECT_FALSE(IsConfigOverride("A=B"));
}

}  // namespace
}  // namespace ogai

namespace ogai {
namespace {

// Issue 12: micro_batch x dp overflowed an int and the batch derivation died with SIGFPE.
TEST(ConfigSizes, BatchArithmeticIsSixtyFourBit) {
  auto r = ParseConfig("", "t.yaml", {"train.micro_batch=65536", "parallel.dp=65536", "train.global_batch=8"});
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("'train.global_batch'"), std::string::npos) << m;
  EXPECT_NE(m.find("= 4294967296"), std::string::npos) << m;
  // Without global_batch: the derived batch is above the limit, named with its keys.
  r = ParseConfig("", "t.yaml", {"train.micro_batch=65536", "parallel.dp=65536"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("sequences per step is above the limit"), std::string::npos)
      << r.status().message();
}

// global_batch = 2^31 - 1 with micro_batch = 1 made a step of 2^31 - 1 micro-batches.
TEST(ConfigSizes, HugeStepsAndModelsAreRefusedByTheSchema) {
  for (const char* o : {"train.global_batch=2147483647", "model.d_model=1073741824", "model.vocab=2000000000",
                        "model.layers=1000000000", "train.grad_accum=100000000", "parallel.tp=1000000"}) {
    auto r = ParseConfig("", "t.yaml", {"train.micro_batch=1", o});
    ASSERT_FALSE(r.ok()) << o;
    EXPECT_NE(r.status().message().find("it must be a value"), std::string::npos) << o << ": " << r.status().message();
  }
  auto r = ParseConfig("", "t.yaml", {"train.micro_batch=1", "train.global_batch=1000000"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("micro-batches per step is above the limit"), std::string::npos)
      << r.status().message();
  r = ParseConfig("", "t.yaml", {"parallel.dp=256", "parallel.tp=256", "parallel.pp=2"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("ranks is above the limit"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace ogai

namespace ogai {
namespace {

std::string WriteTemp(const std::string& name, const std::string& bytes) {
  const std::string path = ::testing::TempDir() + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  return path;
}

// Issue 12: an empty file and a UTF-16 file trained silently with defaults.
TEST(ConfigText, EmptyAndNonUtf8FilesAreRefused) {
  auto r = LoadConfig(WriteTemp("empty.yaml", ""));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the file is empty"), std::string::npos) << r.status().message();
  r = LoadConfig(WriteTemp("blank.yaml", "\n  \n"));
  ASSERT_FALSE(r.ok());
  const std::string u16("\xff\xfem\0o\0d\0e\0l\0:\0", 14);
  r = LoadConfig(WriteTemp("u16.yaml", u16));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not UTF-8 text (byte 0xff at offset 0; a UTF-16 file?)"), std::string::npos)
      << r.status().message();
  r = LoadConfig(WriteTemp("latin1.yaml", "train:\n  metrics_file: \"caf\xe9\"\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("latin1.yaml:2: not UTF-8"), std::string::npos) << r.status().message();
  // Real UTF-8 is fine.
  r = LoadConfig(WriteTemp("utf8.yaml", "train:\n  metrics_file: \"caf\xc3\xa9.jsonl\"\n"));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

// train.steps=0x10 meant 16 (strtod reads hex).
TEST(ConfigText, NumbersAreDecimalOnly) {
  for (const char* o :
       {"train.steps=0x10", "train.steps=0b11", "train.lr=0x1p-3", "train.lr=inf", "train.lr=nan", "train.steps=1e"}) {
    auto r = ParseConfig("", "t.yaml", {o});
    EXPECT_FALSE(r.ok()) << o;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("decimal"), std::string::npos) << r.status().message();
    }
  }
  auto r = ParseConfig("train:\n  steps: 1e3\n  lr: 2.5e-4\n", "t.yaml", {"train.warmup=-0"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->train.steps, 1000);
}

// Deep nesting said only "bad file".
TEST(ConfigText, DeepNestingSaysWhere) {
  auto r = ParseConfig("model: " + std::string(5000, '[') + std::string(5000, ']') + "\n", "deep.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("deep.yaml:1: nested "), std::string::npos) << r.status().message();
  std::string blocks = "model:\n";
  for (int i = 0; i < 100; ++i) blocks += std::string(2 * (i + 1), ' ') + "k" + std::to_string(i) + ":\n";
  r = ParseConfig(blocks, "deep2.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("levels deep here (the limit is 64)"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace ogai
