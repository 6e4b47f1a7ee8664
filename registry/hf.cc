#include "registry/hf.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "ckpt/format.h"
#include "ckpt/safetensors.h"
#include "core/build_info.h"
#include "core/file_io.h"
#include "registry/card.h"
#include "registry/register_ckpt.h"

namespace ogai::registry {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// One Hugging Face tensor: its name, shape, and the ogai tensors it is made of.
struct HfTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<std::string> parts;  // ogai names, stacked along dim 0 before the transpose
  bool transpose = false;          // Conv1D weight: [in, out] = the Linear [out, in] transposed
};

std::vector<HfTensor> HfLayout(const ModelConfig& c) {
  const int64_t C = c.d_model, V = c.vocab, T = c.seq_len;
  std::vector<HfTensor> out = {{"wte.weight", {V, C}, {"wte"}}, {"wpe.weight", {T, C}, {"wpe"}}};
  for (int l = 0; l < c.layers; ++l) {
    const std::string h = "h." + std::to_string(l) + ".", o = "h." + std::to_string(l) + ".";
    out.push_back({h + "ln_1.weight", {C}, {o + "ln1.w"}});
    out.push_back({h + "ln_1.bias", {C}, {o + "ln1.b"}});
    out.push_back({h + "attn.c_attn.weight", {C, 3 * C}, {o + "attn.q.w", o + "attn.k.w", o + "attn.v.w"}, true});
    out.push_back({h + "attn.c_attn.bias", {3 * C}, {o + "attn.q.b", o + "attn.k.b", o + "attn.v.b"}});
    out.push_back({h + "attn.c_proj.weight", {C, C}, {o + "attn.proj.w"}, true});
    out.push_back({h + "attn.c_proj.bias", {C}, {o + "attn.proj.b"}});
    out.push_back({h + "ln_2.weight", {C}, {o + "ln2.w"}});
    out.push_back({h + "ln_2.bias", {C}, {o + "ln2.b"}});
    out.push_back({h + "mlp.c_fc.weight", {C, 4 * C}, {o + "mlp.fc.w"}, true});
    out.push_back({h + "mlp.c_fc.bias", {4 * C}, {o + "mlp.fc.b"}});
    out.push_back({h + "mlp.c_proj.weight", {4 * C, C}, {o + "mlp.proj.w"}, true});
    out.push_back({h + "mlp.c_proj.bias", {C}, {o + "mlp.proj.b"}});
  }
  out.push_back({"ln_f.weight", {C}, {"lnf.w"}});
  out.push_back({"ln_f.bias", {C}, {"lnf.b"}});
  return out;
}

int64_t Numel(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string ShapeStr(const std::vector<int64_t>& s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + "]";
}

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.flush();
  if (!f) return IoError("cannot write " + path);
  return Status::Ok();
}

std::string YamlQuote(const std::string& s) {
  std::string o = "\"";
  for (char c : s) o += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return o + "\"";
}

std::string Card(const VersionInfo& v) {
  std::string o = "---\nlibrary_name: transformers\npipeline_tag: text-generation\ntags:\n- gpt2\n- ogai\n";
  if (!v.lineage.dataset_id.empty()) o += "datasets:\n- " + YamlQuote(v.lineage.dataset_id) + "\n";
  if (!v.evaluations.empty()) {
    o += "model-index:\n- name: " + YamlQuote(v.ref()) + "\n  results:\n";
    for (const auto& e : v.evaluations) {
      char b[1024];
      std::snprintf(b, sizeof(b),
                    "  - task:\n      type: text-generation\n    dataset:\n      name: %s\n      type: %s\n"
                    "    metrics:\n    - type: loss\n      value: %.6f\n    - type: perplexity\n      value: %.6f\n",
                    YamlQuote(e.data).c_str(), YamlQuote(e.data).c_str(), e.loss, e.perplexity);
      o += b;
      if (!std::isnan(e.bits_per_byte)) {
        std::snprintf(b, sizeof(b), "    - type: bits_per_byte\n      value: %.6f\n", e.bits_per_byte);
        o += b;
      }
    }
  }
  o += "---\n\n# " + v.ref() + "\n\nExported by ogai-model (git " + std::string(GitCommit()) +
       ") in the Hugging Face GPT-2 layout (`GPT2LMHeadModel`, tied head).\n\n```\n" + FormatCard(v, false) + "```\n";
  if (v.tokenizer.kind == "byte") {
    o += "\nTokenizer: byte-level (token = byte value, " + std::to_string(v.config.vocab) +
         " ids); `ogai_tokenizer.json` says so. Hugging Face has no stock tokenizer class for it: "
         "encode text as its UTF-8 bytes.\n";
  }
  return o;
}

}  // namespace

Result<int> ExportHf(Registry& reg, const VersionInfo& v, const std::string& dir, int64_t shard_bytes) {
  OGAI_RETURN_IF_ERROR(ckpt::MakeDirs(dir));
  std::map<std::string, const TensorRecord*> by_name;
  for (const auto& t : v.tensors) by_name[t.name] = &t;
  const std::vector<HfTensor> layout = HfLayout(v.config);
  // Shards: consecutive tensors up to shard_bytes each (a bigger tensor gets one of its own).
  std::vector<std::vector<size_t>> shards(1);
  int64_t in_shard = 0;
  for (size_t i = 0; i < layout.size(); ++i) {
    const int64_t b = Numel(layout[i].shape) * 4;
    if (!shards.back().empty() && in_shard + b > shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(i);
    in_shard += b;
  }
  auto fill = [&](const HfTensor& h, float* dst) -> Status {
    std::vector<float> stacked;
    int64_t rows = 0, cols = 1;
    for (const auto& p : h.parts) {
      auto it = by_name.find(p);
      if (it == by_name.end()) return NotFound(v.ref() + " has no tensor '" + p + "'");
      OGAI_ASSIGN_OR_RETURN(std::vector<float> d, reg.ReadTensor(*it->second));
      rows += it->second->shape[0];
      cols = it->second->shape.size() > 1 ? it->second->shape[1] : 1;
      stacked.insert(stacked.end(), d.begin(), d.end());
    }
    if (!h.transpose) {
      std::copy(stacked.begin(), stacked.end(), dst);
      return Status::Ok();
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = stacked[r * cols + c];
    return Status::Ok();
  };
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"ogai_model", v.ref()}};
  Json weight_map = Json::object();
  int64_t total = 0;
  for (size_t s = 0; s < shards.size(); ++s) {
    char fname[64];
    if (shards.size() == 1) {
      std::snprintf(fname, sizeof(fname), "model.safetensors");
    } else {
      std::snprintf(fname, sizeof(fname), "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    }
    std::vector<ckpt::SafetensorsSpec> specs;
    for (size_t i : shards[s]) {
      specs.push_back({layout[i].name, layout[i].shape});
      weight_map[layout[i].name] = fname;
      total += Numel(layout[i].shape) * 4;
    }
    OGAI_RETURN_IF_ERROR(ckpt::WriteSafetensors(dir + "/" + fname, meta, specs,
                                                [&](size_t k, float* dst) { return fill(layout[shards[s][k]], dst); }));
  }
  if (shards.size() > 1) {
    Json idx = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    OGAI_RETURN_IF_ERROR(WriteText(dir + "/model.safetensors.index.json", idx.dump(2) + "\n"));
  }
  const ModelConfig& c = v.config;
  Json cfg = {{"architectures", {"GPT2LMHeadModel"}},
              {"model_type", "gpt2"},
              {"vocab_size", c.vocab},
              {"n_positions", c.seq_len},
              {"n_ctx", c.seq_len},
              {"n_embd", c.d_model},
              {"n_layer", c.layers},
              {"n_head", c.heads},
              {"n_inner", nullptr},
              {"activation_function", "gelu_new"},
              {"layer_norm_epsilon", 1e-5},
              {"resid_pdrop", 0.0},
              {"embd_pdrop", 0.0},
              {"attn_pdrop", 0.0},
              {"initializer_range", 0.02},
              {"tie_word_embeddings", true},
              {"torch_dtype", "float32"},
              {"ogai_model", v.ref()}};
  OGAI_RETURN_IF_ERROR(WriteText(dir + "/config.json", cfg.dump(2) + "\n"));
  if (v.tokenizer.kind == "byte") {
    Json tok = {{"kind", "byte"}, {"vocab_size", c.vocab}};
    OGAI_RETURN_IF_ERROR(WriteText(dir + "/ogai_tokenizer.json", tok.dump(2) + "\n"));
  }
  for (const auto& [file, blob] : v.tokenizer.files) {
    OGAI_ASSIGN_OR_RETURN(std::string bytes, reg.blobs().Get(blob));
    OGAI_RETURN_IF_ERROR(WriteText(dir + "/" + file, bytes));
  }
  OGAI_RETURN_IF_ERROR(WriteText(dir + "/README.md", Card(v)));
  return static_cast<int>(shards.size());
}

Result<int> ImportHf(Registry& reg, const std::string& dir, const std::string& name,
                     const std::vector<std::string>& aliases) {
  OGAI_RETURN_IF_ERROR(CheckName("model name", name));
  auto cf = ReadFile(dir + "/config.json");
  if (!cf.ok() && cf.status().code() == Code::kNotFound) {
    return NotFound(dir + "/config.json is missing; import takes a Hugging Face GPT-2 folder");
  }
  if (!cf.ok()) return cf.status();
  Json cfg;
  try {
    cfg = Json::parse(*cf);
  } catch (const Json::exception& e) {
    return Corruption(dir + "/config.json is not valid JSON: " + e.what());
  }
  if (cfg.contains("model_type") && cfg["model_type"] != "gpt2") {
    return NotSupported(dir + "/config.json: model_type " + cfg["model_type"].dump() + "; import reads GPT-2 models");
  }
  const std::string act = cfg.value("activation_function", std::string("gelu_new"));
  if (act != "gelu_new" && act != "gelu_pytorch_tanh") {
    return NotSupported(dir + "/config.json: activation_function " + act + "; ogai's GELU is the tanh form (gelu_new)");
  }
  if (std::abs(cfg.value("layer_norm_epsilon", 1e-5) - 1e-5) > 1e-12) {
    return NotSupported(dir + "/config.json: layer_norm_epsilon must be 1e-5 (ogai's LayerNorm)");
  }
  ModelConfig c;
  try {
    c.vocab = cfg.at("vocab_size").get<int>();
    c.seq_len = cfg.at("n_positions").get<int>();
    c.d_model = cfg.at("n_embd").get<int>();
    c.layers = cfg.at("n_layer").get<int>();
    c.heads = cfg.at("n_head").get<int>();
  } catch (const Json::exception& e) {
    return InvalidArgument(dir + "/config.json lacks a GPT-2 field (" + e.what() + ")");
  }
  if (cfg.contains("n_inner") && !cfg["n_inner"].is_null() && cfg["n_inner"].get<int>() != 4 * c.d_model) {
    return NotSupported(dir + "/config.json: n_inner must be 4 x n_embd");
  }
  if (c.heads <= 0 || c.d_model % c.heads != 0) return InvalidArgument(dir + "/config.json: n_embd % n_head != 0");
  // The safetensors files: one, or an index naming several.
  std::map<std::string, ckpt::SafetensorsFile> files;
  std::map<std::string, std::string> where;  // tensor name -> file
  if (fs::exists(dir + "/model.safetensors.index.json")) {
    OGAI_ASSIGN_OR_RETURN(const std::string text, ReadFile(dir + "/model.safetensors.index.json"));
    Json idx;
    try {
      idx = Json::parse(text);
      for (auto it = idx.at("weight_map").begin(); it != idx.at("weight_map").end(); ++it)
        where[it.key()] = it->get<std::string>();
    } catch (const Json::exception& e) {
      return Corruption(dir + "/model.safetensors.index.json is malformed: " + e.what());
    }
  } else if (!fs::exists(dir + "/model.safetensors")) {
    return NotFound(dir + " has neither model.safetensors nor model.safetensors.index.json");
  }
  auto open_file = [&](const std::string& f) -> Result<const ckpt::SafetensorsFile*> {
    auto it = files.find(f);
    if (it == files.end()) {
      OGAI_ASSIGN_OR_RETURN(ckpt::SafetensorsFile sf, ckpt::ReadSafetensorsHeader(dir + "/" + f));
      it = files.emplace(f, std::move(sf)).first;
    }
    return &it->second;
  };
  if (where.empty()) {
    OGAI_ASSIGN_OR_RETURN(const ckpt::SafetensorsFile* sf, open_file("model.safetensors"));
    for (const auto& t : sf->tensors) where[t.name] = "model.safetensors";
  }
  // Names with or without the "transformer." prefix GPT2LMHeadModel's state dict uses.
  auto locate = [&](const std::string& hf) -> Result<std::pair<const ckpt::SafetensorsFile*, std::string>> {
    for (const std::string& n : {hf, "transformer." + hf}) {
      auto it = where.find(n);
      if (it == where.end()) continue;
      OGAI_ASSIGN_OR_RETURN(const ckpt::SafetensorsFile* sf, open_file(it->second));
      if (sf->Find(n) == nullptr)
        return Corruption(dir + ": the index puts tensor '" + n + "' in " + it->second + ", which lacks it");
      return std::make_pair(sf, n);
    }
    return NotFound(dir + ": missing tensor '" + hf + "'; nothing was imported");
  };
  const std::vector<HfTensor> layout = HfLayout(c);
  // Check every tensor's presence and shape before storing anything.
  for (const auto& h : layout) {
    OGAI_ASSIGN_OR_RETURN(auto loc, locate(h.name));
    const ckpt::SafetensorsEntry* e = loc.first->Find(loc.second);
    if (e->shape != h.shape) {
      return InvalidArgument(dir + ": tensor '" + loc.second + "' has shape " + ShapeStr(e->shape) +
                             ", config.json implies " + ShapeStr(h.shape) + "; nothing was imported");
    }
    if (e->dtype != "F32") {
      return NotSupported(dir + ": tensor '" + loc.second + "' is " + e->dtype + "; import reads F32 (convert first)");
    }
  }
  for (const auto& [n, f] : where) {
    bool known = false;
    for (const auto& h : layout) known = known || n == h.name || n == "transformer." + h.name;
    const bool buffer = n.find(".attn.bias") != std::string::npos || n.find(".attn.masked_bias") != std::string::npos;
    if (!known && !buffer && n != "lm_head.weight") {
      return InvalidArgument(dir + ": unexpected tensor '" + n + "' (not part of GPT-2); nothing was imported");
    }
  }
  NewVersion v;
  v.model = name;
  v.config = c;
  v.aliases = aliases;
  v.lineage.source = "import " + fs::absolute(dir).lexically_normal().string();
  v.lineage.config_yaml = cfg.dump(2);
  v.lineage.registered_by = std::string("ogai-model (git ") + GitCommit() + ")";
  std::string ogai_kind;
  auto tk = ReadFile(dir + "/ogai_tokenizer.json");  // optional: ogai's own exports write it
  if (!tk.ok() && tk.status().code() != Code::kNotFound) return tk.status();
  try {
    if (tk.ok()) ogai_kind = Json::parse(*tk).value("kind", std::string());
  } catch (const Json::exception&) {
    return Corruption(dir + "/ogai_tokenizer.json is not valid JSON");
  }
  if (fs::exists(dir + "/vocab.json") && fs::exists(dir + "/merges.txt")) {
    v.tokenizer.kind = "gpt2-bpe";
  } else if (!ogai_kind.empty()) {
    v.tokenizer.kind = ogai_kind;
  } else if (c.vocab <= 256) {
    v.tokenizer.kind = "byte";
  } else {
    v.tokenizer.kind = "none";
  }
  OGAI_ASSIGN_OR_RETURN(int lock, reg.Lock(false));
  Status st = [&]() -> Status {
    std::vector<float> wte;
    for (const auto& h : layout) {
      OGAI_ASSIGN_OR_RETURN(auto loc, locate(h.name));
      OGAI_ASSIGN_OR_RETURN(std::vector<float> d, ckpt::ReadSafetensorsF32(*loc.first, *loc.first->Find(loc.second)));
      if (h.name == "wte.weight") wte = d;
      std::vector<float> lin = d;
      if (h.transpose) {  // [in, out] -> [out, in]
        const int64_t in = h.shape[0], out = h.shape[1];
        for (int64_t i = 0; i < in; ++i)
          for (int64_t o = 0; o < out; ++o) lin[o * in + i] = d[i * out + o];
      }
      // Split the stacked parts (q, k, v) along dim 0.
      const int64_t per = static_cast<int64_t>(lin.size() / h.parts.size());
      for (size_t p = 0; p < h.parts.size(); ++p) {
        std::vector<int64_t> shape;
        if (h.transpose) {
          shape = {h.shape[1] / static_cast<int64_t>(h.parts.size()), h.shape[0]};
        } else if (h.shape.size() == 1) {
          shape = {h.shape[0] / static_cast<int64_t>(h.parts.size())};
        } else {
          shape = h.shape;
        }
        bool written = false;
        OGAI_ASSIGN_OR_RETURN(TensorRecord rec, StoreTensor(reg, h.parts[p], shape, lin.data() + p * per, &written));
        v.tensors.push_back(std::move(rec));
      }
    }
    if (where.count("lm_head.weight")) {
      OGAI_ASSIGN_OR_RETURN(const ckpt::SafetensorsFile* sf, open_file(where["lm_head.weight"]));
      const ckpt::SafetensorsEntry* e = sf->Find("lm_head.weight");
      OGAI_ASSIGN_OR_RETURN(std::vector<float> head, ckpt::ReadSafetensorsF32(*sf, *e));
      if (head != wte) {
        return NotSupported(dir +
                            ": tensor 'lm_head.weight' differs from 'wte.weight'; ogai ties the head to the "
                            "embedding, so an untied model cannot be imported");
      }
    }
    if (v.tokenizer.kind == "gpt2-bpe") {
      for (const char* f : {"vocab.json", "merges.txt"}) {
        OGAI_ASSIGN_OR_RETURN(v.tokenizer.files[f], reg.blobs().PutFile(dir + "/" + f));
      }
    }
    return Status::Ok();
  }();
  if (st.ok()) {
    auto ver = reg.AddVersion(v);
    ::close(lock);
    return ver;
  }
  ::close(lock);
  return st;
}

}  // namespace ogai::registry
