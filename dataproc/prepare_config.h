// data.yaml: what `ogai-data prepare` does, section by section (docs/data.md lists every
// key; `ogai-data prepare --help-config` prints them). Same conventions as train.yaml:
// unknown keys refused with a suggestion, `section.key=value` overrides on the command line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace ogai::data {

struct InputConfig {
  std::vector<std::string> paths;    // files, folders (read recursively) and globs
  std::string format = "auto";       // auto (by extension) | text | jsonl
  std::string text_split = "file";   // text: one document per file, or per blank-line block
  std::string jsonl_field = "text";  // jsonl: the field holding the text
  std::string utf8 = "repair";       // invalid UTF-8: repair (U+FFFD) | drop the document
};

struct LengthConfig {
  bool enabled = true;
  int64_t min_chars = 1;
  int64_t max_chars = 0;  // 0: no limit
  int64_t min_words = 0;
  int64_t max_words = 0;  // 0: no limit
};

// Gopher quality rules (Rae et al. 2021, app. A; the defaults of datatrove's GopherQualityFilter).
struct GopherQualityConfig {
  bool enabled = true;
  int64_t min_words = 50;
  int64_t max_words = 100000;
  double min_mean_word_len = 3;
  double max_mean_word_len = 10;
  double max_symbol_word_ratio = 0.1;  // '#' and '...' per word
  double max_bullet_lines = 0.9;       // fraction of lines starting with a bullet
  double max_ellipsis_lines = 0.3;     // fraction of lines ending with an ellipsis
  double min_alpha_words = 0.8;        // fraction of words holding a letter
  int min_stop_words = 2;              // of: the be to of and that have with
};

// Gopher repetition rules (the same paper, table A1).
struct GopherRepetitionConfig {
  bool enabled = true;
  double dup_line_frac = 0.3;
  double dup_para_frac = 0.3;
  double dup_line_char_frac = 0.2;
  double dup_para_char_frac = 0.2;
  double top_2gram = 0.2, top_3gram = 0.18, top_4gram = 0.16;
  double dup_5gram = 0.15, dup_6gram = 0.14, dup_7gram = 0.13, dup_8gram = 0.12, dup_9gram = 0.11, dup_10gram = 0.10;
};

// C4's line rules (Raffel et al. 2020, sec. 2.2; datatrove's C4QualityFilter).
struct C4Config {
  bool enabled = true;
  bool terminal_punct = true;   // drop lines not ending in . ! ? or "
  int min_words_per_line = 3;   // drop shorter lines
  int max_word_len = 1000;      // drop lines with a longer word
  bool drop_javascript = true;  // drop lines mentioning javascript
  bool drop_policy = true;      // drop lines with cookie / privacy / terms-of-use phrases
  bool drop_lorem = true;       // drop documents with "lorem ipsum"
  bool drop_curly = true;       // drop documents with '{'
  int min_sentences = 5;        // drop documents with fewer sentences left
};

struct PiiConfig {
  bool enabled = true;
  bool email = true;  // -> <EMAIL>
  bool ip = true;     // IPv4 -> <IP>
};

struct DedupConfig {
  bool exact = true;  // 64-bit hash of the normalised text
  bool fuzzy = true;  // MinHash + LSH
  int bands = 14;
  int rows = 8;
  int ngram = 5;               // word n-grams (shingles)
  bool jaccard_check = false;  // confirm candidates by their signatures' estimated Jaccard
  double jaccard = 0.8;
  uint64_t seed = 1;
};

struct TokenizeConfig {
  std::string tokenizer = "gpt2";  // gpt2 | byte
  std::string vocab_dir;           // gpt2: the folder with encoder.json and vocab.bpe
};

struct OutputConfig {
  std::string dir;
  double val_fraction = 0.01;
  uint64_t seed = 1234;            // of the train/validation split
  int64_t shard_tokens = 1 << 24;  // tokens per shard file
  int workers = 0;                 // threads per rank (0: the cores of this node / ranks on it)
  int rejects_per_rule = 20;       // --rejects: sample size per rule
};

struct PrepareConfig {
  InputConfig input;
  LengthConfig length;
  GopherQualityConfig gopher_quality;
  GopherRepetitionConfig gopher_repetition;
  C4Config c4;
  PiiConfig pii;
  DedupConfig dedup;
  TokenizeConfig tokenize;
  OutputConfig output;
};

Result<PrepareConfig> LoadPrepareConfig(const std::string& path, const std::vector<std::string>& overrides);
Result<PrepareConfig> ParsePrepareConfig(const std::string& yaml, const std::string& name,
                                         const std::vector<std::string>& overrides);
std::string PrepareConfigToYaml(const PrepareConfig& c);
std::string PrepareConfigHelp();

}  // namespace ogai::data
