// ogai-data as a user runs it: N = 1, 2 and 4 ranks under ogai-run give bit-identical
// datasets; exports read back by an independent reader written from Megatron-LM's and
// llm.c's published format descriptions; bad input gets one clear line and a non-zero exit.
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/rng.h"
#include "dataproc/dataset.h"
#include "dataproc/shard.h"
#include "tests/util/child.h"
#include "tests/util/job.h"

namespace ogai::data {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string Bin(const std::string& name) { return testing::BuildDir() + "/bin/" + name; }

void WriteGz(const std::string& path, const std::string& text) {
  gzFile g = gzopen(path.c_str(), "wb");
  gzwrite(g, text.data(), static_cast<unsigned>(text.size()));
  gzclose(g);
}

// A corpus of `files` text files of English-like sentences, some repeated across files.
void MakeCorpus(const std::string& dir, int files) {
  fs::create_directories(dir);
  static const char* kWords[] = {"the", "model", "reads", "text", "and",  "learns", "to",   "predict", "next", "word",
                                 "of",  "a",     "with",  "data", "that", "have",   "many", "small",   "files"};
  SplitMix64 rng(7);
  for (int f = 0; f < files; ++f) {
    std::string t;
    for (int p = 0; p < 6; ++p) {
      for (int s = 0; s < 6; ++s) {
        std::string sent;
        const int n = 6 + static_cast<int>(rng.Next() % 10);
        for (int w = 0; w < n; ++w) sent += std::string(w ? " " : "") + kWords[rng.Next() % 19];
        sent[0] = static_cast<char>(std::toupper(sent[0]));
        t += sent + ". ";
      }
      t += "\n\n";
    }
    if (f % 5 == 4) t = "Mail bob@example.com or 10.0.0.1 now. " + t;  // files 4 and 9 (9 has a copy)
    const std::string name = dir + "/doc" + std::to_string(f) + ".txt";
    if (f % 3 == 0)
      WriteGz(name + ".gz", t);
    else
      testing::WriteFile(name, t);
    if (f % 4 == 1) testing::WriteFile(dir + "/copy" + std::to_string(f) + ".txt", t);  // exact duplicates
  }
}

std::string Yaml(const std::string& in, const std::string& out) {
  return "input:\n  paths: [\"" + in +
         "\"]\n  text_split: blank_lines\n"
         "gopher_quality:\n  min_words: 20\n"
         "tokenize:\n  tokenizer: byte\n"
         "output:\n  dir: " +
         out + "\n  val_fraction: 0.2\n  shard_tokens: 4096\n";
}

testing::ChildResult DataCmd(const std::vector<std::string>& args, double timeout = 120) {
  std::vector<std::string> argv = {Bin("ogai-data")};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::RunChild(argv, timeout);
}

TEST(OgaiData, SameBytesForOneTwoAndFourRanks) {
  TempDir dir("ogai_data_np");
  MakeCorpus(dir / "in", 14);
  testing::WriteFile(dir / "data.yaml", Yaml(dir / "in", dir / "unused"));
  std::map<std::string, std::string> first;
  for (int np : {1, 2, 4}) {
    const std::string out = dir / ("out" + std::to_string(np));
    auto r = testing::RunChild({Bin("ogai-run"), "-np", std::to_string(np), "--", Bin("ogai-data"), "prepare",
                                dir / "data.yaml", "output.dir=" + out, "--quiet"},
                               240);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::map<std::string, std::string> files;
    for (const auto& e : fs::directory_iterator(out)) {
      ASSERT_TRUE(e.is_regular_file()) << e.path() << " left behind";
      files[e.path().filename().string()] = ogai::testing::ReadText(e.path().string());
    }
    EXPECT_GE(files.size(), 4u);  // manifest, >= 2 train shards, >= 1 val shard
    if (np == 1) {
      first = files;
      auto ds = OpenDataset(out).value();
      EXPECT_GT(ds.train.size(), 1u);
      EXPECT_FALSE(ds.val.empty());
      const std::string m = files["manifest.json"];
      EXPECT_NE(m.find("\"dedup.exact\": 24"), std::string::npos) << m;
      EXPECT_NE(m.find("\"pii.emails\": 3"), std::string::npos) << m;
    } else {
      EXPECT_EQ(files, first) << "the dataset made by " << np << " ranks differs from the one made by 1";
    }
  }
}

// ---- an independent reader of the export formats, from their published descriptions ----

struct Docs {
  std::vector<std::vector<int32_t>> docs;
};

// Megatron-LM's MMIDIDX index + .bin.
Docs ReadMegatron(const std::string& prefix) {
  const std::string idx = ogai::testing::ReadText(prefix + ".idx"), bin = ogai::testing::ReadText(prefix + ".bin");
  EXPECT_EQ(idx.substr(0, 9), std::string("MMIDIDX\0\0", 9));
  size_t p = 9;
  auto u64 = [&] {
    uint64_t v;
    std::memcpy(&v, idx.data() + p, 8);
    p += 8;
    return v;
  };
  EXPECT_EQ(u64(), 1u);  // version
  const uint8_t code = static_cast<uint8_t>(idx[p++]);
  EXPECT_EQ(code, 8);  // uint16
  const uint64_t seqs = u64(), ndocs = u64();
  EXPECT_EQ(ndocs, seqs + 1);
  std::vector<int32_t> len(seqs);
  std::memcpy(len.data(), idx.data() + p, seqs * 4);
  p += seqs * 4;
  std::vector<int64_t> ptr(seqs), doc_idx(ndocs);
  std::memcpy(ptr.data(), idx.data() + p, seqs * 8);
  p += seqs * 8;
  std::memcpy(doc_idx.data(), idx.data() + p, ndocs * 8);
  p += ndocs * 8;
  EXPECT_EQ(p, idx.size());
  Docs d;
  for (uint64_t s = 0; s < seqs; ++s) {
    std::vector<int32_t> t(len[s]);
    for (int32_t k = 0; k < len[s]; ++k) {
      uint16_t v;
      std::memcpy(&v, bin.data() + ptr[s] + 2 * k, 2);
      t[k] = v;
    }
    d.docs.push_back(t);
  }
  return d;
}

// llm.c's token file: 256 int32 header, uint16 tokens.
std::vector<int32_t> ReadLlmc(const std::string& path) {
  const std::string b = ogai::testing::ReadText(path);
  int32_t h[256];
  std::memcpy(h, b.data(), sizeof h);
  EXPECT_EQ(h[0], 20240520);
  EXPECT_EQ(h[1], 1);
  EXPECT_EQ(b.size(), 1024 + 2 * static_cast<size_t>(h[2]));
  std::vector<int32_t> t(h[2]);
  for (int32_t i = 0; i < h[2]; ++i) {
    uint16_t v;
    std::memcpy(&v, b.data() + 1024 + 2 * i, 2);
    t[i] = v;
  }
  return t;
}

TEST(OgaiData, ExportsReadBackByAnIndependentReader) {
  TempDir dir("ogai_data_export");
  MakeCorpus(dir / "in", 6);
  testing::WriteFile(dir / "data.yaml", Yaml(dir / "in", dir / "ds"));
  auto r = DataCmd({"prepare", dir / "data.yaml", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto ds = OpenDataset(dir / "ds").value();
  std::vector<int32_t> all;
  for (const auto& p : ds.train) {
    auto s = TokenShard::Open(p).value();
    std::vector<int32_t> t(static_cast<size_t>(s->size()));
    s->Read(0, s->size(), t.data());
    all.insert(all.end(), t.begin(), t.end());
  }
  ASSERT_FALSE(all.empty());
  r = DataCmd({"export", dir / "ds", "--format", "megatron", "--out", dir / "mg"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Docs m = ReadMegatron(dir / "mg");
  std::vector<int32_t> joined;
  for (const auto& d : m.docs) {
    ASSERT_FALSE(d.empty());
    EXPECT_EQ(d.back(), ds.eot);  // one document per sequence, ending with end-of-text
    joined.insert(joined.end(), d.begin(), d.end());
  }
  EXPECT_EQ(joined, all);
  EXPECT_EQ(static_cast<int64_t>(m.docs.size()), std::count(all.begin(), all.end(), ds.eot));
  // A prefix in folders that do not exist yet: they are made.
  r = DataCmd({"export", dir / "ds", "--format", "llmc", "--out", dir / "new/sub/llmc"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadLlmc(dir / "new/sub/llmc.bin"), all);
}

// ---- bad input: one clear line, a non-zero exit, nothing half-written ----

void ExpectOneLineError(const testing::ChildResult& r, const std::string& needle) {
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST(OgaiData, BadInputGetsOneClearLine) {
  TempDir dir("ogai_data_bad");
  MakeCorpus(dir / "in", 3);
  // A missing file.
  testing::WriteFile(dir / "missing.yaml", Yaml(dir / "nope.txt", dir / "o1"));
  ExpectOneLineError(DataCmd({"prepare", dir / "missing.yaml"}), "does not exist");
  EXPECT_FALSE(fs::exists(dir / "o1/manifest.json"));
  // A truncated .gz.
  fs::create_directories(dir / "trunc");
  std::string gz = ogai::testing::ReadText(dir / "in/doc0.txt.gz");
  testing::WriteFile(dir / "trunc/t.txt.gz", gz.substr(0, gz.size() / 2));
  testing::WriteFile(dir / "trunc.yaml", Yaml(dir / "trunc", dir / "o2"));
  ExpectOneLineError(DataCmd({"prepare", dir / "trunc.yaml"}), "truncated");
  EXPECT_FALSE(fs::exists(dir / "o2/manifest.json"));
  for (const auto& e : fs::directory_iterator(dir / "o2")) ADD_FAILURE() << e.path() << " left behind by a failed run";
  // A binary file.
  fs::create_directories(dir / "bin");
  testing::WriteFile(dir / "bin/b.txt", std::string("ELF\0\0\1binary", 12));
  testing::WriteFile(dir / "bin.yaml", Yaml(dir / "bin", dir / "o3"));
  ExpectOneLineError(DataCmd({"prepare", dir / "bin.yaml"}), "looks binary");
  // Empty input: an empty file and an empty folder.
  fs::create_directories(dir / "empty");
  testing::WriteFile(dir / "empty/e.txt", "");
  testing::WriteFile(dir / "empty.yaml", Yaml(dir / "empty", dir / "o4"));
  ExpectOneLineError(DataCmd({"prepare", dir / "empty.yaml"}), "no document survived");
  // Every rule that dropped documents is named, not only the one that dropped most.
  fs::create_directories(dir / "rules");
  testing::WriteFile(dir / "rules/a.txt",
                     "The model reads text { and learns to predict the next word of a sentence with data that have "
                     "many small files.\n\nShort.\n");
  testing::WriteFile(dir / "rules.yaml", Yaml(dir / "rules", dir / "o6"));
  ExpectOneLineError(DataCmd({"prepare", dir / "rules.yaml"}),
                     "(2 read, dropped: 1 by c4.curly_bracket, 1 by gopher_quality.words)");
  // Documents that survive but all fall to the validation split are not "no document".
  testing::WriteFile(dir / "in.yaml", Yaml(dir / "in", dir / "o7"));
  ExpectOneLineError(DataCmd({"prepare", dir / "in.yaml", "output.val_fraction=1"}),
                     "documents left went to the validation split (output.val_fraction 1");
  EXPECT_FALSE(fs::exists(dir / "o7/manifest.json"));
  // None to validation although val_fraction > 0: the dataset is made, with a warning.
  auto few = DataCmd({"prepare", dir / "in.yaml", "output.val_fraction=0.000001", "--quiet"});
  EXPECT_EQ(few.exit_code, 0) << few.output;
  EXPECT_NE(few.output.find("gave no validation documents"), std::string::npos) << few.output;
  EXPECT_TRUE(fs::exists(dir / "o7/manifest.json"));
  fs::create_directories(dir / "void");
  testing::WriteFile(dir / "void.yaml", Yaml(dir / "void", dir / "o5"));
  ExpectOneLineError(DataCmd({"prepare", dir / "void.yaml"}), "names no files");
  // A missing vocabulary.
  ExpectOneLineError(
      DataCmd({"prepare", dir / "empty.yaml", "tokenize.tokenizer=gpt2", "tokenize.vocab_dir=" + (dir / "novocab")}),
      "encoder.json");
  // An unknown key, with a suggestion.
  ExpectOneLineError(DataCmd({"prepare", dir / "empty.yaml", "dedup.band=3"}), "dedup.bands");
  // An existing dataset is refused unless --overwrite.
  testing::WriteFile(dir / "ok.yaml", Yaml(dir / "in", dir / "ok"));
  ASSERT_EQ(DataCmd({"prepare", dir / "ok.yaml", "--quiet"}).exit_code, 0);
  const std::string id = OpenDataset(dir / "ok").value().id;
  ExpectOneLineError(DataCmd({"prepare", dir / "ok.yaml"}), "--overwrite");
  EXPECT_EQ(OpenDataset(dir / "ok").value().id, id);
  auto r = DataCmd({"prepare", dir / "ok.yaml", "--overwrite", "--quiet"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(OpenDataset(dir / "ok").value().id, id);  // the same input gives the same dataset
  // No scratch left behind.
  for (const auto& e : fs::directory_iterator(dir / "ok"))
    EXPECT_EQ(e.path().filename().string().find(".work"), std::string::npos) << e.path();
}

TEST(OgaiData, EveryCommandHasHelp) {
  for (const char* cmd : {"prepare", "inspect", "export", "encode", "decode"}) {
    auto r = DataCmd({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.output;
    EXPECT_NE(r.output.find("usage: ogai-data"), std::string::npos) << cmd;
  }
  auto r = DataCmd({"prepare", "--help-config"});
  EXPECT_NE(r.output.find("dedup.bands"), std::string::npos);
  r = DataCmd({"encode", "--tokenizer", "byte", "hi"});
  EXPECT_EQ(r.output, "104 105\n");
}

}  // namespace
}  // namespace ogai::data
