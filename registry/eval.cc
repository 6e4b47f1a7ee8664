#include "registry/eval.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/file_io.h"
#include "core/shell_quote.h"
#include "dataproc/dataset.h"
#include "registry/materialize.h"

namespace ogai::registry {

namespace {

namespace fs = std::filesystem;

std::string Beside(const std::string& prog) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::exists(self.parent_path() / prog, ec)) return (self.parent_path() / prog).string();
  return prog;
}

}  // namespace

Result<Evaluation> EvaluateVersion(Registry& reg, const VersionInfo& v, const EvalRequest& req) {
  auto ds = data::OpenDataset(req.data);
  if (!ds.ok()) {
    return ds.status().WithContext("eval --data " + req.data +
                                   " (a dataset folder made by ogai-data prepare, with a validation split)");
  }
  if (ds->val.empty()) {
    return InvalidArgument("dataset " + req.data + " has no validation documents to evaluate on; " +
                           data::NoValidationDocumentsHelp());
  }
  if (ds->vocab > v.config.vocab) {
    return InvalidArgument("dataset " + req.data + " has a vocabulary of " + std::to_string(ds->vocab) + ", " +
                           v.ref() + " has " + std::to_string(v.config.vocab) + " tokens");
  }
  OGAI_ASSIGN_OR_RETURN(std::string ckpt, Materialize(reg, v, reg.root() + "/materialized"));
  const std::string dir = reg.root() + "/tmp/eval." + std::to_string(::getpid());
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IoError("cannot create " + dir + ": " + ec.message());
  const ModelConfig& c = v.config;
  std::ostringstream y;
  y << "# ogai-model eval " << v.ref() << " on " << req.data << "\n"
    << "model:\n  layers: " << c.layers << "\n  heads: " << c.heads << "\n  d_model: " << c.d_model
    << "\n  vocab: " << c.vocab << "\n  seq_len: " << c.seq_len << "\n"
    << "data:\n  source: dataset\n  dataset: " << fs::absolute(req.data).string() << "\n"
    << "train:\n  init_from: " << ckpt << "\n  eval_only: true\n  eval_every: 1\n  eval_batches: " << req.batches
    << "\n  global_batch: " << req.global_batch << "\n  micro_batch: 1\n  steps: 1\n  log_every: 1\n"
    << "  metrics_file: " << dir << "/metrics.jsonl\n"
    << "checkpoint:\n  dir: \"\"\n";
  {
    std::ofstream f(dir + "/eval.yaml");
    f << y.str();
    if (!f) return IoError("cannot write " + dir + "/eval.yaml");
  }
  std::string cmd =
      ShellQuote(Beside("ogai-run")) + " -np " + std::to_string(req.np) + " " + ShellQuote(dir + "/eval.yaml");
  for (const auto& o : req.overrides) cmd += " " + ShellQuote(o);
  cmd += " > " + ShellQuote(dir + "/run.log") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  // Either file may be missing (a run that failed early): it then reads as empty.
  auto log = ReadFile(dir + "/run.log");
  auto mf = ReadFile(dir + "/metrics.jsonl");
  const std::string output = log.ok() ? std::move(*log) : std::string();
  const std::string metrics = mf.ok() ? std::move(*mf) : std::string();
  fs::remove_all(dir, ec);
  if (rc != 0) return Aborted("the evaluation run failed (" + cmd + "):\n" + output);
  std::smatch m;
  if (!std::regex_search(metrics, m, std::regex("\"val_loss\": ([0-9.eE+-]+), \"tokens\": ([0-9]+)"))) {
    return Internal("the evaluation run wrote no validation loss; its output:\n" + output);
  }
  Evaluation e;
  e.loss = std::stod(m[1]);
  e.tokens = std::stoll(m[2]);
  e.perplexity = std::exp(e.loss);
  // Bits per byte over the bytes the evaluated target tokens stand for (the trainer counts
  // them with the dataset's tokenizer: train/evaluate.h); NaN, shown as n/a, if absent.
  e.bits_per_byte = std::nan("");
  if (std::regex_search(metrics, m, std::regex("\"bits_per_byte\": ([0-9.eE+-]+)"))) e.bits_per_byte = std::stod(m[1]);
  e.data = "dataset " + ds->id + " (" + req.data + ", validation split)";
  std::string layout = "np " + std::to_string(req.np);
  for (const auto& o : req.overrides) layout += " " + o;
  e.layout = layout;
  OGAI_RETURN_IF_ERROR(reg.AddEvaluation(v.ref(), e));
  return e;
}

}  // namespace ogai::registry
