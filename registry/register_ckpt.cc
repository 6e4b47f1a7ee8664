#include "registry/register_ckpt.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "ckpt/export.h"
#include "ckpt/reader.h"
#include "core/build_info.h"
#include "core/clock.h"
#include "core/knobs.h"
#include "dataproc/dataset.h"

namespace ogai::registry {

namespace {

std::string Scalar(const YAML::Node& root, const char* sec, const char* key) {
  try {
    if (root[sec] && root[sec][key] && root[sec][key].IsScalar()) return root[sec][key].as<std::string>();
  } catch (const YAML::Exception&) {
  }
  return "";
}

// The last line of the run's metrics file for a step <= `step` ("" when there is none).
std::string LastMetrics(const std::string& path_pattern, int64_t step) {
  std::string path = path_pattern;
  if (size_t p = path.find("{rank}"); p != std::string::npos) path.replace(p, 6, "0");
  std::ifstream in(path);
  if (!in) return "";
  std::string line, best;
  while (std::getline(in, line)) {
    const size_t k = line.find("\"step\": ");
    if (k == std::string::npos || line.find("\"loss\"") == std::string::npos) continue;
    if (std::strtoll(line.c_str() + k + 8, nullptr, 10) <= step) best = line;
  }
  return best;
}

}  // namespace

void LineageFromConfig(const std::string& config_yaml, int64_t step, Lineage* l, int* heads) {
  YAML::Node root;
  try {
    root = YAML::Load(config_yaml);
  } catch (const YAML::Exception&) {
    return;
  }
  const std::string h = Scalar(root, "model", "heads");
  if (!h.empty()) *heads = std::atoi(h.c_str());
  // The data set: an explicit id when the config has one (ogai-data), else what the source is.
  std::string id = Scalar(root, "data", "dataset_id");
  if (id.empty()) id = Scalar(root, "data", "dataset");
  if (id.empty()) {
    const std::string src = Scalar(root, "data", "source");
    if (src == "demo" || src.empty()) {
      id = "demo corpus (demo_seed " + Scalar(root, "data", "demo_seed") + ", " + Scalar(root, "data", "demo_tokens") +
           " tokens)";
    } else {
      std::string paths;
      try {
        for (const auto& p : root["data"]["paths"]) paths += (paths.empty() ? "" : ",") + p.as<std::string>();
      } catch (const YAML::Exception&) {
      }
      id = src + ": " + paths;
    }
  }
  l->dataset_id = id;
  const std::string mf = Scalar(root, "train", "metrics_file");
  if (!mf.empty()) l->metrics_json = LastMetrics(mf, step);
  l->parent = Scalar(root, "train", "init_from");
}

Result<TensorRecord> StoreTensor(Registry& reg, const std::string& name, const std::vector<int64_t>& shape,
                                 const float* data, bool* written) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  TensorRecord t{name, shape, Sha256Hex(data, static_cast<size_t>(n) * 4), n * 4};
  OGAI_RETURN_IF_ERROR(reg.blobs().Put(t.blob, data, static_cast<size_t>(n) * 4, written));
  if (auto ms = KnobInt("OGAI_REGISTRY_TEST_DELAY_MS"); ms && *ms > 0) {
    std::fprintf(stderr, "test: stored blob of %s\n", name.c_str());
    ::usleep(static_cast<useconds_t>(*ms) * 1000);
  }
  return t;
}

Result<RegisterResult> RegisterCheckpoint(Registry& reg, const std::string& path, const RegisterOptions& opt) {
  const double t0 = Now();
  OGAI_RETURN_IF_ERROR(CheckName("model name", opt.name));
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return NotFound("checkpoint " + path + " does not exist; give a checkpoint root or one of its step_* folders");
  }
  auto opened = ckpt::Checkpoint::Open(path);
  if (!opened.ok()) {
    return opened.status().WithContext("cannot register " + path +
                                       " (only a committed checkpoint, with its manifest.pb, can be registered)");
  }
  const ckpt::Checkpoint& ck = **opened;
  std::vector<ckpt::Fault> faults = ck.Verify();
  if (!faults.empty()) {
    return Corruption("checkpoint " + ck.path() + " does not verify (" + std::to_string(faults.size()) +
                      " fault(s)), first: " + faults[0].ToString() + "; run ogai-ckpt verify " + ck.path() +
                      " for all of them");
  }
  const ckpt::pb::Manifest& m = ck.manifest();
  NewVersion v;
  v.model = opt.name;
  v.aliases = opt.aliases;
  v.tags = opt.tags;
  Lineage& l = v.lineage;
  l.source = "checkpoint " + std::filesystem::absolute(ck.path()).lexically_normal().string();
  l.step = m.step();
  l.config_yaml = m.config_yaml();
  l.code_version = m.created_by();
  l.registered_by = std::string("ogai-model (git ") + GitCommit() + ")";
  int heads = 0;
  LineageFromConfig(m.config_yaml(), m.step(), &l, &heads);
  if (!m.dataset_id().empty()) {  // an ogai-data dataset: its id (the hash of its manifest)
    YAML::Node root;
    std::string where;
    try {
      root = YAML::Load(m.config_yaml());
      if (root["data"] && root["data"]["dataset"]) where = " (" + root["data"]["dataset"].as<std::string>() + ")";
    } catch (const YAML::Exception&) {
    }
    l.dataset_id = "dataset " + m.dataset_id() + where;
  }
  // The tokenizer: a dataset's (GPT-2 BPE: its encoder.json + vocab.bpe, stored as the
  // Hugging Face names vocab.json + merges.txt), else bytes.
  std::vector<std::pair<std::string, std::string>> tok_files;  // registry name, source path
  if (!m.dataset_id().empty()) {
    try {
      YAML::Node root = YAML::Load(m.config_yaml());
      auto ds = data::OpenDataset(root["data"]["dataset"].as<std::string>());
      if (ds.ok() && ds->tokenizer == "gpt2") {
        v.tokenizer.kind = "gpt2-bpe";
        const YAML::Node prep = YAML::Load(YAML::Load(ds->manifest)["config"].as<std::string>());
        const std::string dir = prep["tokenize"]["vocab_dir"].as<std::string>();
        tok_files = {{"vocab.json", dir + "/encoder.json"}, {"merges.txt", dir + "/vocab.bpe"}};
      }
    } catch (const YAML::Exception&) {
    }
  }
  // The model's shape, from the tensors (and the heads from the config).
  int layers = 0;
  for (const auto& t : m.tensors()) {
    const std::string& n = t.name();
    if (n.rfind("h.", 0) == 0) layers = std::max(layers, std::atoi(n.c_str() + 2) + 1);
    if (n == "wte" && t.shape_size() == 2) {
      v.config.vocab = static_cast<int>(t.shape(0));
      v.config.d_model = static_cast<int>(t.shape(1));
    }
    if (n == "wpe" && t.shape_size() == 2) v.config.seq_len = static_cast<int>(t.shape(0));
  }
  v.config.layers = layers;
  v.config.heads = heads;
  if (!ck.FindTensor("wte") || !ck.FindTensor("wpe") || !ck.FindTensor("lnf.w") || layers == 0 || heads <= 0 ||
      v.config.d_model % heads != 0) {
    return InvalidArgument("checkpoint " + ck.path() +
                           " does not hold a whole GPT (wte, wpe, h.N.*, lnf.* and model.heads in its config)");
  }
  OGAI_ASSIGN_OR_RETURN(int lock, reg.Lock(false));
  RegisterResult res;
  Status st = [&]() -> Status {
    for (const auto& t : m.tensors()) {
      if (ckpt::IsOptimizerTensor(t.name())) continue;
      std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
      ckpt::ReadSlice s{t.name(), shape, ckpt::Region::Whole(shape), nullptr};
      std::vector<float> buf(static_cast<size_t>(s.region.numel()));
      s.data = buf.data();
      OGAI_RETURN_IF_ERROR(ck.Read({s}));
      bool written = false;
      OGAI_ASSIGN_OR_RETURN(TensorRecord rec, StoreTensor(reg, t.name(), shape, buf.data(), &written));
      res.blobs_written += written ? 1 : 0;
      res.bytes += rec.bytes;
      v.tensors.push_back(std::move(rec));
    }
    for (const auto& [name, src] : tok_files) {
      auto h = reg.blobs().PutFile(src);
      if (!h.ok())
        return Status(h.status().code(),
                      "the dataset's tokenizer file: " + h.status().message() + " (registering its BPE files)");
      v.tokenizer.files[name] = *h;
    }
    OGAI_ASSIGN_OR_RETURN(res.version, reg.AddVersion(v));
    return Status::Ok();
  }();
  ::close(lock);
  if (!st.ok()) return st.WithContext("nothing was registered");
  res.tensors = static_cast<int>(v.tensors.size());
  res.seconds = Now() - t0;
  return res;
}

}  // namespace ogai::registry
