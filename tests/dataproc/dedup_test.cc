// Dedup quality of `ogai-data prepare` (MinHash 14 x 8 over word 5-grams, LSH): a corpus of
// distinct documents plus near-duplicates at known Jaccard similarity (0.7 to 0.95, exact,
// over the same shingles the pipeline uses). The pipeline must drop >= 95% of the copies
// at J >= 0.8 and <= 1% of the distinct documents.
#include <cstdio>
#include <set>
#include <unordered_set>

#include <gtest/gtest.h>

#include "core/rng.h"
#include "dataproc/dataset.h"
#include "dataproc/minhash.h"
#include "dataproc/prepare.h"
#include "dataproc/shard.h"
#include "tests/util/job.h"

namespace ogai::data {
namespace {

using testing::TempDir;

std::string RandomWord(SplitMix64& rng) {
  std::string w;
  const int n = 3 + static_cast<int>(rng.Next() % 7);
  for (int i = 0; i < n; ++i) w.push_back(static_cast<char>('a' + rng.Next() % 26));
  return w;
}

double Jaccard(const MinHasher& mh, const std::string& a, const std::string& b) {
  std::vector<uint64_t> x, y;
  mh.Shingles(a, &x);
  mh.Shingles(b, &y);
  std::unordered_set<uint64_t> sa(x.begin(), x.end()), sb(y.begin(), y.end());
  size_t inter = 0;
  for (uint64_t h : sa) inter += sb.count(h);
  return static_cast<double>(inter) / static_cast<double>(sa.size() + sb.size() - inter);
}

std::string Join(const std::vector<std::string>& w) {
  std::string s;
  for (size_t i = 0; i < w.size(); ++i) s += (i ? " " : "") + w[i];
  return s;
}

std::string JsonString(const std::string& s) { return "\"" + s + "\""; }  // words are a-z and spaces

TEST(Dedup, NearDuplicatesFoundDistinctDocumentsKept) {
  TempDir dir("dedup_test");
  SplitMix64 rng(2024);
  std::vector<std::string> vocab;
  for (int i = 0; i < 20000; ++i) vocab.push_back(RandomWord(rng));
  const MinHasher mh(14, 8, 5, 1);
  constexpr int kBase = 1500, kWords = 200;
  std::vector<std::vector<std::string>> base(kBase);
  for (auto& d : base)
    for (int i = 0; i < kWords; ++i) d.push_back(vocab[rng.Next() % vocab.size()]);
  // Copies of the first 600 documents with 1..7 words replaced: Jaccard about 0.95 .. 0.7.
  struct Copy {
    std::string text;
    double j;
  };
  std::vector<Copy> copies;
  for (int i = 0; i < 600; ++i) {
    auto w = base[i];
    const int m = 1 + static_cast<int>(rng.Next() % 7);
    std::set<size_t> at;
    while (static_cast<int>(at.size()) < m) at.insert(rng.Next() % w.size());
    for (size_t k : at) w[k] = vocab[rng.Next() % vocab.size()];
    Copy c{Join(w), 0};
    c.j = Jaccard(mh, Join(base[i]), c.text);
    if (c.j >= 0.7 && c.j <= 0.95) copies.push_back(c);
  }
  // Base documents first (they are kept), then the copies.
  std::string jsonl;
  for (const auto& d : base) jsonl += "{\"text\": " + JsonString(Join(d)) + "}\n";
  for (const auto& c : copies) jsonl += "{\"text\": " + JsonString(c.text) + "}\n";
  testing::WriteFile(dir / "in.jsonl", jsonl);

  PrepareConfig cfg;
  cfg.input.paths = {dir / "in.jsonl"};
  cfg.length.enabled = cfg.gopher_quality.enabled = cfg.gopher_repetition.enabled = cfg.c4.enabled = false;
  cfg.pii.enabled = false;
  cfg.tokenize.tokenizer = "byte";
  cfg.output.dir = dir / "out";
  cfg.output.val_fraction = 0;
  PrepareOptions o;
  o.run_tag = "t";
  o.progress = false;
  auto r = RunPrepare(cfg, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  // The kept documents, decoded (byte tokens; 256 ends a document).
  auto ds = OpenDataset(cfg.output.dir).value();
  std::unordered_set<std::string> kept;
  for (const auto& p : ds.train) {
    auto s = TokenShard::Open(p).value();
    std::vector<int32_t> t(static_cast<size_t>(s->size()));
    s->Read(0, s->size(), t.data());
    std::string doc;
    for (int32_t x : t) {
      if (x == 256) {
        kept.insert(doc);
        doc.clear();
      } else {
        doc.push_back(static_cast<char>(x));
      }
    }
  }
  int hi = 0, hi_found = 0, lo = 0, lo_found = 0, base_dropped = 0;
  for (const auto& c : copies) {
    const bool found = kept.count(c.text) == 0;
    if (c.j >= 0.8) {
      ++hi;
      hi_found += found;
    } else {
      ++lo;
      lo_found += found;
    }
  }
  for (const auto& d : base) base_dropped += kept.count(Join(d)) == 0;
  const double recall = static_cast<double>(hi_found) / hi;
  const double fp = static_cast<double>(base_dropped) / kBase;
  std::printf(
      "dedup: recall %.3f at J >= 0.8 (%d/%d), %.3f at 0.7 <= J < 0.8 (%d/%d); distinct documents dropped %.4f\n",
      recall, hi_found, hi, lo ? static_cast<double>(lo_found) / lo : 0.0, lo_found, lo, fp);
  ASSERT_GT(hi, 200);
  EXPECT_GE(recall, 0.95);
  EXPECT_LE(fp, 0.01);
  EXPECT_EQ(r->counters["dedup.fuzzy"], hi_found + lo_found);
}

TEST(Dedup, ExactDuplicatesUpToCaseAndSpacing) {
  TempDir dir("dedup_exact");
  testing::WriteFile(dir / "a.jsonl",
                     "{\"text\": \"One two three four five six.\"}\n"
                     "{\"text\": \"one  two three\\nfour five   six.\"}\n"
                     "{\"text\": \"Seven eight nine ten eleven twelve.\"}\n");
  PrepareConfig cfg;
  cfg.input.paths = {dir / "a.jsonl"};
  cfg.length.enabled = cfg.gopher_quality.enabled = cfg.gopher_repetition.enabled = cfg.c4.enabled = false;
  cfg.dedup.fuzzy = false;
  cfg.tokenize.tokenizer = "byte";
  cfg.output.dir = dir / "out";
  cfg.output.val_fraction = 0;
  PrepareOptions o;
  o.run_tag = "t";
  o.progress = false;
  auto r = RunPrepare(cfg, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->counters["dedup.exact"], 1);
  EXPECT_EQ(r->counters["split.train_docs"], 2);
}

}  // namespace
}  // namespace ogai::data
