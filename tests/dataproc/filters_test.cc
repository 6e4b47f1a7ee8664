// The quality rules and PII masking of `ogai-data prepare` (dataproc/filters.h), rule by rule.
#include "dataproc/filters.h"

#include <gtest/gtest.h>

namespace ogai::data {
namespace {

std::string RuleOf(const PrepareConfig& cfg, std::string text) {
  Filters f(cfg);
  int64_t removed = 0;
  const int r = f.Apply(&text, &removed);
  return r < 0 ? "kept" : Filters::RuleNames()[r];
}

// A plain English paragraph of `sentences` sentences that passes every default rule.
std::string Prose(int sentences) {
  static const char* kS[] = {
      "The quick brown fox jumps over the lazy dog near the river bank.",
      "Researchers have found that the model learns with more data and time.",
      "A small team of engineers wrote the first version of that program.",
      "Many of the results depend on how the corpus was cleaned and filtered.",
      "We measured the speed of the tokenizer on two different machines.",
      "Each document is read once and then split into lines and paragraphs.",
      "The library keeps its promises to users who rely on stable formats.",
  };
  std::string t;
  for (int i = 0; i < sentences; ++i) t += std::string(kS[i % 7]) + (i % 3 == 2 ? "\n" : " ");
  return t;
}

PrepareConfig Only(const char* which) {
  PrepareConfig c;
  c.length.enabled = c.gopher_quality.enabled = c.gopher_repetition.enabled = c.c4.enabled = false;
  const std::string w = which;
  if (w == "length") c.length.enabled = true;
  if (w == "quality") c.gopher_quality.enabled = true;
  if (w == "repetition") c.gopher_repetition.enabled = true;
  if (w == "c4") c.c4.enabled = true;
  return c;
}

TEST(Filters, CleanProsePassesEveryDefaultRule) { EXPECT_EQ(RuleOf(PrepareConfig{}, Prose(7)), "kept"); }

TEST(Filters, GopherQuality) {
  const PrepareConfig q = Only("quality");
  EXPECT_EQ(RuleOf(q, "Too short a text."), "gopher_quality.words");
  std::string no_stop;
  for (int i = 0; i < 60; ++i) no_stop += "apple banana cherry ";
  EXPECT_EQ(RuleOf(q, no_stop), "gopher_quality.stop_words");
  std::string hashes = Prose(7);
  for (int i = 0; i < 20; ++i) hashes += " #tag";
  EXPECT_EQ(RuleOf(q, hashes), "gopher_quality.symbol_ratio");
  std::string longw;
  for (int i = 0; i < 60; ++i) longw += "the extraordinarilylongwordthatgoesonandon ";
  EXPECT_EQ(RuleOf(q, longw), "gopher_quality.mean_word_len");
}

TEST(Filters, GopherRepetition) {
  const PrepareConfig r = Only("repetition");
  std::string lines;
  for (int i = 0; i < 10; ++i) lines += "Buy cheap watches now.\n";
  EXPECT_NE(RuleOf(r, lines + Prose(3)), "kept");
  std::string ngram = Prose(2);
  for (int i = 0; i < 30; ++i) ngram += " click here to subscribe";
  EXPECT_EQ(RuleOf(r, ngram), "gopher_repetition.top_ngram");
  EXPECT_EQ(RuleOf(r, Prose(7)), "kept");
}

TEST(Filters, C4RemovesLinesAndDropsDocuments) {
  const PrepareConfig c = Only("c4");
  Filters f(c);
  std::string t =
      Prose(7) + "\nMenu\nThis site uses cookies to improve your experience.\nEnable javascript to see this.";
  int64_t removed = 0;
  EXPECT_EQ(f.Apply(&t, &removed), -1);
  EXPECT_EQ(removed, 3);
  EXPECT_EQ(t.find("Menu"), std::string::npos);
  EXPECT_EQ(t.find("cookies"), std::string::npos);
  EXPECT_EQ(RuleOf(c, Prose(7) + " Lorem ipsum dolor sit amet."), "c4.lorem_ipsum");
  EXPECT_EQ(RuleOf(c, Prose(7) + " if (x) { y(); }."), "c4.curly_bracket");
  EXPECT_EQ(RuleOf(c, "One sentence only. And a second one."), "c4.sentences");
}

TEST(Filters, Length) {
  PrepareConfig l = Only("length");
  l.length.min_words = 5;
  EXPECT_EQ(RuleOf(l, "four words only here"), "length");
  EXPECT_EQ(RuleOf(l, "five words are here now"), "kept");
  EXPECT_EQ(RuleOf(l, ""), "length");
}

TEST(Pii, EmailsAndIpv4AreMasked) {
  PiiConfig p;
  std::string t = "Write to jane.doe+x@mail.example.org or ping 192.168.1.20, not 999.1.1.1 or 1.2.3 or v1.2.3.4.5.";
  int64_t emails = 0, ips = 0;
  MaskPii(p, &t, &emails, &ips);
  EXPECT_EQ(t, "Write to <EMAIL> or ping <IP>, not 999.1.1.1 or 1.2.3 or v1.2.3.4.5.");
  EXPECT_EQ(emails, 1);
  EXPECT_EQ(ips, 1);
  p.enabled = false;
  std::string u = "a@b.com";
  MaskPii(p, &u, &emails, &ips);
  EXPECT_EQ(u, "a@b.com");
}

}  // namespace
}  // namespace ogai::data
