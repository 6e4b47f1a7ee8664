#include "dataproc/prepare.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/log.h"
#include "dataproc/dataset.h"
#include "dataproc/filters.h"
#include "dataproc/minhash.h"
#include "dataproc/pack.h"
#include "dataproc/part_file.h"
#include "dataproc/reader.h"
#include "dataproc/text_tokenizer.h"
#include "dataproc/unicode.h"

namespace ogai::data {
namespace fs = std::filesystem;
namespace {

std::string FileStem(int f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "f%06d", f);
  return buf;
}

// Lower-case ASCII, white space collapsed: the text the exact-duplicate hash sees.
uint64_t NormalisedHash(const std::string& t) {
  std::string n;
  n.reserve(t.size());
  bool space = false;
  for (char c : t) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u == ' ' || u == '\n' || u == '\t' || u == '\r') {
      space = !n.empty();
      continue;
    }
    if (space) n.push_back(' ');
    space = false;
    n.push_back(u < 0x80 ? static_cast<char>(std::tolower(u)) : c);
  }
  return HashBytes(n);
}

struct Shared {
  const PrepareConfig* cfg;
  const TextTokenizer* tok;
  const Filters* filters;
  const MinHasher* minhash;
  std::string work;
  bool want_rejects = false;
  std::atomic<int64_t> bytes_done{0}, docs_done{0}, docs_kept{0};
};

// Stage 1 for one input file: its part file and its JSON (counters, rejects, input hash).
Status ProcessFile(Shared& sh, int f, const InputFile& in, BpeCache* cache) {
  const PrepareConfig& cfg = *sh.cfg;
  Counters c;
  c["read.files"] = 1;
  nlohmann::ordered_json rejects = nlohmann::ordered_json::array();
  std::map<int, int> rejects_per_rule;
  OGAI_ASSIGN_OR_RETURN(auto reader, DocReader::Open(in.path, cfg.input));
  const int sig_size = cfg.dedup.fuzzy ? sh.minhash->size() : 0;
  const int bands = cfg.dedup.fuzzy ? sh.minhash->bands() : 0;
  OGAI_ASSIGN_OR_RETURN(auto part, PartWriter::Create(sh.work + "/" + FileStem(f) + ".part", bands, sig_size));
  const auto& rules = Filters::RuleNames();
  std::string doc, fixed;
  PartRecord rec;
  int64_t last_raw = 0, doc_index = -1;
  auto reject = [&](const std::string& rule, int rule_id, const std::string& text) {
    ++c["filter." + rule];
    if (rejects_per_rule[rule_id]++ < cfg.output.rejects_per_rule) {
      rejects.push_back({{"rule", rule}, {"file", in.path}, {"doc", doc_index}, {"text", text.substr(0, 2000)}});
    }
  };
  while (true) {
    OGAI_ASSIGN_OR_RETURN(bool more, reader->Next(&doc));
    sh.bytes_done += reader->raw_bytes() - last_raw;
    last_raw = reader->raw_bytes();
    if (!more) break;
    ++doc_index;
    ++sh.docs_done;
    ++c["read.docs"];
    c["read.bytes"] += static_cast<int64_t>(doc.size());
    if (!IsValidUtf8(doc)) {
      if (cfg.input.utf8 == "drop") {
        ++c["utf8.dropped_docs"];
        continue;
      }
      c["utf8.repaired_bytes"] += RepairUtf8(doc, &fixed);
      ++c["utf8.repaired_docs"];
      doc.swap(fixed);
    }
    int64_t lines_removed = 0;
    const std::string original = sh.want_rejects ? doc : std::string();
    const int rule = sh.filters->Apply(&doc, &lines_removed);
    c["c4.lines_removed"] += lines_removed;
    if (rule >= 0) {
      reject(rules[rule], rule, original);
      continue;
    }
    MaskPii(cfg.pii, &doc, &c["pii.emails"], &c["pii.ips"]);
    rec.hash = NormalisedHash(doc);
    if (cfg.dedup.fuzzy) {
      sh.minhash->Signature(doc, &rec.sig);
      sh.minhash->BandHashes(rec.sig, &rec.bands);
    }
    rec.tokens.clear();
    sh.tok->Encode(doc, &rec.tokens, cache);
    rec.tokens.push_back(sh.tok->eot());
    ++c["filter.kept_docs"];
    ++sh.docs_kept;
    OGAI_RETURN_IF_ERROR(part->Add(rec));
  }
  OGAI_RETURN_IF_ERROR(part->Commit());
  nlohmann::ordered_json j;
  OGAI_ASSIGN_OR_RETURN(std::string input_hash, HashFile(in.path));
  j["input"] = {{"path", in.path}, {"bytes", in.bytes}, {"xxh3", input_hash}};
  j["counters"] = c;
  j["rejects"] = rejects;
  return WriteFileAtomic(sh.work + "/" + FileStem(f) + ".json", j.dump(1), /*durable=*/false);
}

std::string Human(double bytes) {
  char b[32];
  if (bytes >= 1e9)
    std::snprintf(b, sizeof b, "%.2f GB", bytes / 1e9);
  else if (bytes >= 1e6)
    std::snprintf(b, sizeof b, "%.1f MB", bytes / 1e6);
  else
    std::snprintf(b, sizeof b, "%.0f kB", bytes / 1e3);
  return b;
}

}  // namespace

std::vector<std::string> CounterOrder() {
  std::vector<std::string> o = {"read.files",         "read.docs",           "read.bytes",
                                "utf8.repaired_docs", "utf8.repaired_bytes", "utf8.dropped_docs"};
  for (const auto& r : Filters::RuleNames()) o.push_back("filter." + r);
  for (const char* k : {"c4.lines_removed", "filter.kept_docs", "pii.emails", "pii.ips", "dedup.exact", "dedup.fuzzy",
                        "dedup.kept_docs", "split.train_docs", "split.val_docs", "split.train_tokens",
                        "split.val_tokens", "split.train_shards", "split.val_shards"})
    o.push_back(k);
  return o;
}

Result<PrepareResult> RunPrepare(const PrepareConfig& cfg, const PrepareOptions& o) {
  const double t0 = Now();
  const std::string out = cfg.output.dir;
  if (fs::exists(out + "/" + kManifestName) && !o.overwrite) {
    return AlreadyExists("'" + out + "' already holds a dataset (" + kManifestName +
                         "); choose another output.dir, or pass --overwrite to replace it");
  }
  OGAI_ASSIGN_OR_RETURN(std::vector<InputFile> inputs, ExpandInputs(cfg.input.paths));
  OGAI_ASSIGN_OR_RETURN(auto tok, TextTokenizer::Load(cfg.tokenize.tokenizer, cfg.tokenize.vocab_dir));
  std::error_code ec;
  const std::string work = out + "/.work-" + o.run_tag;
  fs::create_directories(work, ec);
  if (ec) return IoError("cannot create '" + work + "' (" + ec.message() + "); is output.dir writable?");

  Filters filters(cfg);
  MinHasher minhash(cfg.dedup.bands, cfg.dedup.rows, cfg.dedup.ngram, cfg.dedup.seed);
  Shared sh;
  sh.cfg = &cfg;
  sh.tok = tok.get();
  sh.filters = &filters;
  sh.minhash = &minhash;
  sh.work = work;
  sh.want_rejects = !o.rejects.empty();
  std::vector<int> mine;
  int64_t my_bytes = 0, all_bytes = 0;
  for (int f = 0; f < static_cast<int>(inputs.size()); ++f) {
    all_bytes += inputs[f].bytes;
    if (f % o.world == o.rank) {
      mine.push_back(f);
      my_bytes += inputs[f].bytes;
    }
  }
  int threads = cfg.output.workers;
  if (threads <= 0)
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::max(1, o.local_world));
  threads = std::max(1, std::min<int>(threads, static_cast<int>(mine.size())));
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first_error;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      BpeCache cache;
      while (true) {
        const size_t i = next++;
        if (i >= mine.size()) return;
        Status st = ProcessFile(sh, mine[i], inputs[mine[i]], &cache);
        if (!st.ok()) {
          std::lock_guard<std::mutex> l(mu);
          if (first_error.ok()) first_error = st;
          next = mine.size();
          return;
        }
      }
    });
  }
  // Progress (rank 0): a line in place on a terminal, a plain line every 10 s otherwise.
  const bool tty = ::isatty(2) != 0;
  double last = Now();
  auto progress = [&](bool final_line) {
    const double dt = std::max(1e-9, Now() - t0);
    const double done = static_cast<double>(sh.bytes_done.load());
    const double eta = done > 0 ? (static_cast<double>(my_bytes) - done) / (done / dt) : 0;
    char line[256];
    std::snprintf(line, sizeof line, "prepare: %lld docs (%.0f/s), %s of %s (%.1f MB/s), kept %.1f%%, ETA %.0f s",
                  static_cast<long long>(sh.docs_done.load()), sh.docs_done.load() / dt, Human(done).c_str(),
                  Human(static_cast<double>(my_bytes)).c_str(), done / dt / 1e6,
                  sh.docs_done ? 100.0 * sh.docs_kept.load() / sh.docs_done.load() : 0.0, std::max(0.0, eta));
    if (tty)
      std::fprintf(stderr, "\r%s\033[K%s", line, final_line ? "\n" : "");
    else
      Print(line);
  };
  while (o.progress && o.rank == 0) {
    bool all_done = next.load() >= mine.size();
    if (all_done) break;
    ::usleep(200 * 1000);
    if (Now() - last >= (tty ? 0.5 : 10.0)) {
      progress(false);
      last = Now();
    }
  }
  for (auto& t : pool) t.join();
  if (o.progress && o.rank == 0 && tty) progress(true);
  if (!first_error.ok()) return first_error;
  OGAI_RETURN_IF_ERROR(
      WriteFileAtomic(work + "/rank-" + std::to_string(o.rank) + ".done", "done\n", /*durable=*/false));
  PrepareResult res;
  res.input_bytes = all_bytes;
  if (o.rank != 0) {
    res.seconds = Now() - t0;
    return res;
  }
  // Rank 0: wait for the others, then stage 2.
  const double wait_start = Now();
  for (int r = 1; r < o.world; ++r) {
    const std::string marker = work + "/rank-" + std::to_string(r) + ".done";
    while (!fs::exists(marker)) {
      if (Now() - wait_start > o.wait_timeout_s) {
        return Timeout("rank " + std::to_string(r) + " did not finish its inputs within " +
                       std::to_string(static_cast<int>(o.wait_timeout_s)) + " s (no " + marker +
                       "); is output.dir on a folder every rank shares?");
      }
      ::usleep(50 * 1000);
    }
  }
  PackInput pin;
  pin.cfg = &cfg;
  pin.tok = tok.get();
  pin.work = work;
  pin.files = static_cast<int>(inputs.size());
  pin.overwrite = o.overwrite;
  pin.rejects = o.rejects;
  OGAI_ASSIGN_OR_RETURN(PackResult pr, PackDataset(pin));
  fs::remove_all(work, ec);
  res.dataset_id = pr.dataset_id;
  res.counters = pr.counters;
  res.seconds = Now() - t0;
  return res;
}

}  // namespace ogai::data
